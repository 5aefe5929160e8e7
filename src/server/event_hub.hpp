// Live events per change request, for `datafix watch` (server-sent events): the pair sees every
// step of the driver as the runbook's screen share did. Events carry names, counts, hashes and
// normalized statements only. Each watcher has its own bounded queue, so a slow watcher never
// blocks the step that publishes.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "ledger/request_state.hpp"

namespace datafix::server {

class Subscription {
  public:
    // The next event as one SSE frame, or nothing after `wait` (the caller sends a keep-alive)
    // or when the hub closed.
    std::optional<std::string> next(std::chrono::milliseconds wait);
    bool closed() const;

  private:
    friend class EventHub;
    void push(std::string frame);
    void close();

    mutable std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<std::string> frames_;
    bool closed_ = false;
    bool overflowed_ = false;
};

class EventHub {
  public:
    std::shared_ptr<Subscription> subscribe(ledger::RequestNumber request);
    void unsubscribe(ledger::RequestNumber request, const std::shared_ptr<Subscription>& sub);
    // `type` becomes the SSE event name; `data` is sent as JSON.
    void publish(ledger::RequestNumber request, const std::string& type, nlohmann::json data);
    void close_all();  // at shutdown: every watcher's stream ends

  private:
    std::mutex mutex_;
    std::map<ledger::RequestNumber, std::vector<std::shared_ptr<Subscription>>> subscribers_;
    std::int64_t next_id_ = 1;
    bool closed_ = false;
};

}  // namespace datafix::server
