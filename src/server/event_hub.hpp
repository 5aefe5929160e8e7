// Live events per change request, for `datafix watch` and the web pages (server-sent events): the
// pair sees every step of the driver as the runbook's screen share did. Events carry names,
// counts, hashes and normalized statements only. Each watcher has its own bounded queue, so a
// slow watcher never blocks the step that publishes; and watchers are bounded too, in all and per
// person, so nobody can hold the server's memory and connections with streams.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "model/person.hpp"
#include "model/request_state.hpp"

namespace datafix::server {

class Subscription {
  public:
    explicit Subscription(model::UserId watcher) : watcher_(watcher) {}

    // The next event as one SSE frame, if one is queued. Never waits.
    std::optional<std::string> next();
    // True once the hub closed this watcher (shutdown, or it fell too far behind) and every
    // queued frame was taken.
    bool closed() const;
    // `wake` is called, from the publishing thread and outside this subscription's lock, when a
    // frame arrives or the subscription closes.
    void on_ready(std::function<void()> wake);

  private:
    friend class EventHub;
    void push(std::string frame);
    void close();

    const model::UserId watcher_;
    mutable std::mutex mutex_;
    std::deque<std::string> frames_;
    std::function<void()> wake_;
    bool closed_ = false;
};

// How many watchers the hub admits: in all, and per person.
struct StreamLimits {
    int total = 1000;
    int per_person = 16;
};

class EventHub {
  public:
    explicit EventHub(StreamLimits limits = {});

    enum class Refusal {
        none,
        person_at_limit,  // the watcher already has limits.per_person streams
        hub_at_limit,     // limits.total streams are open
    };
    struct Subscribed {
        std::shared_ptr<Subscription> subscription;  // null when refused
        Refusal refusal = Refusal::none;
    };
    Subscribed subscribe(model::RequestNumber request, model::UserId watcher);
    void unsubscribe(model::RequestNumber request, const std::shared_ptr<Subscription>& sub);
    // `type` becomes the SSE event name; `data` is sent as JSON.
    void publish(model::RequestNumber request, const std::string& type, nlohmann::json data);
    void close_all();  // at shutdown: every watcher's stream ends

    const StreamLimits& limits() const { return limits_; }

  private:
    StreamLimits limits_;
    std::mutex mutex_;
    std::map<model::RequestNumber, std::vector<std::shared_ptr<Subscription>>> subscribers_;
    std::map<model::UserId, int> per_person_;
    int total_ = 0;
    std::int64_t next_id_ = 1;
    bool closed_ = false;
};

}  // namespace datafix::server
