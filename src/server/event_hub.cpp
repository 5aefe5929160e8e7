// Fan-out of request events to watcher queues, formatted as server-sent-event frames, and the
// count of watchers against the limits.
#include "server/event_hub.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace datafix::server {

namespace {
// A watcher that falls this far behind is dropped (its stream ends) rather than holding memory.
constexpr std::size_t kMaxQueuedFrames = 1000;
}  // namespace

std::optional<std::string> Subscription::next() {
    std::lock_guard lock(mutex_);
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

void Subscription::on_ready(std::function<void()> wake) {
    std::lock_guard lock(mutex_);
    wake_ = std::move(wake);
}

void Subscription::push(std::string frame) {
    std::function<void()> wake;
    {
        std::lock_guard lock(mutex_);
        if (closed_) {
            return;
        }
        if (frames_.size() >= kMaxQueuedFrames) {
            closed_ = true;
        } else {
            frames_.push_back(std::move(frame));
        }
        wake = wake_;
    }
    if (wake) {
        wake();
    }
}

void Subscription::close() {
    std::function<void()> wake;
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
        wake = wake_;
    }
    if (wake) {
        wake();
    }
}

EventHub::EventHub(StreamLimits limits) : limits_(limits) {}

EventHub::Subscribed EventHub::subscribe(model::RequestNumber request, model::UserId watcher) {
    auto sub = std::make_shared<Subscription>(watcher);
    std::lock_guard lock(mutex_);
    if (closed_) {
        sub->close();
        return {sub, Refusal::none};
    }
    if (per_person_[watcher] >= limits_.per_person) {
        return {nullptr, Refusal::person_at_limit};
    }
    if (total_ >= limits_.total) {
        return {nullptr, Refusal::hub_at_limit};
    }
    ++per_person_[watcher];
    ++total_;
    subscribers_[request].push_back(sub);
    return {sub, Refusal::none};
}

void EventHub::unsubscribe(model::RequestNumber request, const std::shared_ptr<Subscription>& sub) {
    std::lock_guard lock(mutex_);
    auto it = subscribers_.find(request);
    if (it == subscribers_.end()) {
        return;
    }
    auto& list = it->second;
    auto found = std::find(list.begin(), list.end(), sub);
    if (found == list.end()) {
        return;
    }
    list.erase(found);
    if (list.empty()) {
        subscribers_.erase(it);
    }
    --total_;
    if (--per_person_[sub->watcher_] <= 0) {
        per_person_.erase(sub->watcher_);
    }
}

void EventHub::publish(model::RequestNumber request, const std::string& type, nlohmann::json data) {
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
    per_person_.clear();
    total_ = 0;
}

}  // namespace datafix::server
