// Slots and threads of the live transactions this server holds open.
#include "run/live_registry.hpp"

namespace datafix::run {

bool LiveSlot::decide(targetdb::LiveDecision decision) {
    std::lock_guard lock(mutex_);
    if (decision_) {
        return false;
    }
    decision_ = decision;
    changed_.notify_all();
    return true;
}

std::optional<targetdb::LiveDecision> LiveSlot::wait_for_decision(
    std::chrono::system_clock::time_point until) {
    std::unique_lock lock(mutex_);
    changed_.wait_until(lock, until, [this] { return decision_.has_value(); });
    return decision_;
}

bool LiveSlot::stopping() const {
    std::lock_guard lock(mutex_);
    return stopping_;
}

void LiveSlot::stop() {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    if (!decision_) {
        decision_ = targetdb::LiveDecision::roll_back;
    }
    changed_.notify_all();
}

void LiveSlot::show(RunReport shown) {
    std::lock_guard lock(mutex_);
    shown_ = std::move(shown);
    changed_.notify_all();
}

void LiveSlot::show_failed(std::exception_ptr failure) {
    std::lock_guard lock(mutex_);
    if (!shown_ && !shown_failure_) {
        shown_failure_ = std::move(failure);
    }
    changed_.notify_all();
}

RunReport LiveSlot::wait_shown() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return shown_.has_value() || shown_failure_ != nullptr; });
    if (shown_failure_) {
        std::rethrow_exception(shown_failure_);
    }
    return *shown_;
}

void LiveSlot::end(RunReport outcome) {
    std::lock_guard lock(mutex_);
    ended_ = std::move(outcome);
    if (!shown_ && !shown_failure_) {
        shown_ = ended_;  // ended before its evidence was shown: the driver hears the end
    }
    changed_.notify_all();
}

void LiveSlot::end_failed(std::exception_ptr failure) {
    std::lock_guard lock(mutex_);
    ended_failure_ = failure;
    if (!shown_ && !shown_failure_) {
        shown_failure_ = std::move(failure);
    }
    changed_.notify_all();
}

std::optional<RunReport> LiveSlot::wait_ended(std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex_);
    bool ended = changed_.wait_for(
        lock, limit, [this] { return ended_.has_value() || ended_failure_ != nullptr; });
    if (!ended) {
        return std::nullopt;
    }
    if (ended_failure_) {
        std::rethrow_exception(ended_failure_);
    }
    return ended_;
}

LiveRegistry::~LiveRegistry() {
    stop_all();
}

std::shared_ptr<LiveSlot> LiveRegistry::start(model::RequestNumber request, int run,
                                              std::function<void(LiveSlot&)> body) {
    join_finished();
    auto slot = std::make_shared<LiveSlot>();
    auto done = std::make_shared<bool>(false);
    std::lock_guard lock(mutex_);
    open_[{request, run}] = slot;
    std::thread thread([this, slot, done, request, run, body = std::move(body)] {
        body(*slot);
        std::lock_guard inner(mutex_);
        open_.erase({request, run});
        *done = true;
    });
    threads_.push_back(Entry{slot, std::move(thread), done});
    return slot;
}

std::shared_ptr<LiveSlot> LiveRegistry::find(model::RequestNumber request, int run) const {
    std::lock_guard lock(mutex_);
    auto it = open_.find({request, run});
    return it == open_.end() ? nullptr : it->second;
}

void LiveRegistry::join_finished() {
    std::vector<std::thread> finished;
    {
        std::lock_guard lock(mutex_);
        for (auto it = threads_.begin(); it != threads_.end();) {
            if (*it->done) {
                finished.push_back(std::move(it->thread));
                it = threads_.erase(it);
            } else {
                ++it;
            }
        }
    }
    for (auto& t : finished) {
        t.join();
    }
}

void LiveRegistry::stop_all() {
    std::vector<Entry> all;
    {
        std::lock_guard lock(mutex_);
        all = std::move(threads_);
        threads_.clear();
    }
    for (auto& e : all) {
        e.slot->stop();
    }
    for (auto& e : all) {
        if (e.thread.joinable()) {
            e.thread.join();
        }
    }
}

}  // namespace datafix::run
