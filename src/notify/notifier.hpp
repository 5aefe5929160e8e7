// The two halves of notification: Notifier::notify() renders a summary and queues one row per
// routed channel and recipient (fast, no network; call it where the change is recorded), and
// Dispatcher::run_once() delivers what is due, retrying failures with exponential backoff.
// DispatchLoop runs the dispatcher on a thread of the server.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "notify/channels.hpp"
#include "notify/outbox.hpp"
#include "notify/summary.hpp"
#include "notify/transport.hpp"

namespace datafix::notify {

class Notifier {
  public:
    Notifier(NotifyConfig config, Outbox& outbox);
    // Queues the event for every route; returns the ids queued (none when nothing is routed).
    std::vector<std::int64_t> notify(const ChangeSummary& summary, model::Time now);
    // The same messages without queueing them: one per channel and recipient, for a caller that
    // writes them in its own ledger transaction (the workflow step's).
    std::vector<NewNotification> compose(const ChangeSummary& summary) const;

  private:
    NotifyConfig config_;
    Outbox& outbox_;
};

struct Backoff {
    std::chrono::milliseconds first{std::chrono::seconds{30}};
    std::chrono::milliseconds max{std::chrono::hours{1}};
    // Delay before the attempt after `attempts` failures: first * 2^(attempts-1), at most max.
    std::chrono::milliseconds after(int attempts) const;
};

struct DispatchReport {
    int delivered = 0;
    int failed = 0;
};

class Dispatcher {
  public:
    // Transports are made from the configuration; tests may replace one with set_transport.
    Dispatcher(const NotifyConfig& config, Outbox& outbox, Backoff backoff = {});
    void set_transport(const std::string& channel, std::unique_ptr<Transport> transport);
    // Delivers up to `limit` due notifications; never throws for a delivery failure.
    DispatchReport run_once(model::Time now, int limit = 100);

  private:
    Outbox& outbox_;
    Backoff backoff_;
    std::map<std::string, std::unique_ptr<Transport>> transports_;
};

class DispatchLoop {
  public:
    // Runs dispatcher.run_once(clock()) every `interval`, and at once after wake().
    DispatchLoop(Dispatcher& dispatcher, std::chrono::milliseconds interval,
                 std::function<model::Time()> clock = model::wall_clock_now);
    ~DispatchLoop();  // stops and joins; never throws
    DispatchLoop(const DispatchLoop&) = delete;
    DispatchLoop& operator=(const DispatchLoop&) = delete;
    void wake();

  private:
    void run();

    Dispatcher& dispatcher_;
    std::chrono::milliseconds interval_;
    std::function<model::Time()> clock_;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool stop_ = false;
    bool woken_ = false;
    std::thread thread_;
};

}  // namespace datafix::notify
