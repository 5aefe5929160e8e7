// Fan-out of request events to watcher queues, formatted as server-sent-event frames.
#include "server/event_hub.hpp"

#include <algorithm>

namespace datafix::server {

namespace {
// A watcher that falls this far behind is dropped (its stream ends) rather than holding memory.
constexpr std::size_t kMaxQueuedFrames = 1000;
}  // namespace

std::optional<std::string> Subscription::next(std::chrono::milliseconds wait) {
    std::unique_lock lock(mutex_);
    ready_.wait_for(lock, wait, [this] { return closed_ || !frames_.empty(); });
    if (frames_.empty()) {
        return std::nullopt;
    }
    std::string frame = std::move(frames_.front());
    frames_.pop_front();
    return frame;
}

bool Subscription::closed() const {
    std::lock_guard lock(mutex_);
    return closed_ && frames_.empty();
}

void Subscription::push(std::string frame) {
    {
        std::lock_guard lock(mutex_);
        if (closed_) {
            return;
        }
        if (frames_.size() >= kMaxQueuedFrames) {
            overflowed_ = true;
            closed_ = true;
        } else {
            frames_.push_back(std::move(frame));
        }
    }
    ready_.notify_all();
}

void Subscription::close() {
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
    }
    ready_.notify_all();
}

std::shared_ptr<Subscription> EventHub::subscribe(ledger::RequestNumber request) {
    auto sub = std::make_shared<Subscription>();
    std::lock_guard lock(mutex_);
    if (closed_) {
        sub->close();
        return sub;
    }
    subscribers_[request].push_back(sub);
    return sub;
}

void EventHub::unsubscribe(ledger::RequestNumber request,
                           const std::shared_ptr<Subscription>& sub) {
    std::lock_guard lock(mutex_);
    auto it = subscribers_.find(request);
    if (it == subscribers_.end()) {
        return;
    }
    auto& list = it->second;
    list.erase(std::remove(list.begin(), list.end(), sub), list.end());
    if (list.empty()) {
        subscribers_.erase(it);
    }
}

void EventHub::publish(ledger::RequestNumber request, const std::string& type,
                       nlohmann::json data) {
    std::lock_guard lock(mutex_);
    std::int64_t id = next_id_++;
    auto it = subscribers_.find(request);
    if (it == subscribers_.end()) {
        return;
    }
    data["type"] = type;
    data["request"] = request;
    std::string frame =
        "id: " + std::to_string(id) + "\nevent: " + type + "\ndata: " + data.dump() + "\n\n";
    for (const auto& sub : it->second) {
        sub->push(frame);
    }
}

void EventHub::close_all() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    for (auto& [request, list] : subscribers_) {
        for (auto& sub : list) {
            sub->close();
        }
    }
    subscribers_.clear();
}

}  // namespace datafix::server
