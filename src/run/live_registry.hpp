// The live transactions this server holds open (live mode): one slot per live run, each worked
// by a thread of its own that keeps the target transaction open while the pair looks. The
// driver's call answers once the evidence is shown; the pair's approval or a cancel decides the
// slot; the thread commits or rolls back and leaves the outcome in it. Stopping the server
// rolls back every open one and waits for it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "model/request_state.hpp"
#include "run/run_report.hpp"
#include "targetdb/live.hpp"

namespace datafix::run {

class LiveSlot {
  public:
    // First decision wins; later ones are ignored. Returns whether this one was taken.
    bool decide(targetdb::LiveDecision decision);
    // The decision, once one is taken, or nothing when `until` passes first.
    std::optional<targetdb::LiveDecision> wait_for_decision(
        std::chrono::system_clock::time_point until);
    bool stopping() const;
    void stop();

    // The driver's answer: the evidence shown (or why the run ended before it was).
    void show(RunReport shown);
    void show_failed(std::exception_ptr failure);
    RunReport wait_shown();

    // The run's end (committed, rolled back, in doubt), or the failure that ended it.
    void end(RunReport outcome);
    void end_failed(std::exception_ptr failure);
    // Waits at most `limit`; nothing when the run has not ended by then.
    std::optional<RunReport> wait_ended(std::chrono::milliseconds limit);

  private:
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::optional<targetdb::LiveDecision> decision_;
    bool stopping_ = false;
    std::optional<RunReport> shown_;
    std::exception_ptr shown_failure_;
    std::optional<RunReport> ended_;
    std::exception_ptr ended_failure_;
};

class LiveRegistry {
  public:
    LiveRegistry() = default;
    ~LiveRegistry();
    LiveRegistry(const LiveRegistry&) = delete;
    LiveRegistry& operator=(const LiveRegistry&) = delete;

    // A slot for the run, worked by `body` on a thread of its own; the slot is removed when the
    // body returns.
    std::shared_ptr<LiveSlot> start(model::RequestNumber request, int run,
                                    std::function<void(LiveSlot&)> body);
    // The slot of a run this server holds open, or nullptr.
    std::shared_ptr<LiveSlot> find(model::RequestNumber request, int run) const;
    // Rolls back every open live transaction (the server stops) and waits for their threads.
    void stop_all();

  private:
    struct Entry {
        std::shared_ptr<LiveSlot> slot;
        std::thread thread;
        std::shared_ptr<bool> done;
    };
    void join_finished();
    mutable std::mutex mutex_;
    std::map<std::pair<model::RequestNumber, int>, std::shared_ptr<LiveSlot>> open_;
    std::vector<Entry> threads_;
};

}  // namespace datafix::run
