// Run leases: which server executes a run, kept alive by heartbeats, so that a run left running by
// a server that is gone (killed, hung, cut off from the ledger) is found and settled by any server
// sharing the ledger — at its start, and every third of a lease while it runs. A server that comes
// back under the same instance name settles its earlier runs at once. Settling a run another
// server still executes is safe: that server's xid or outcome is then refused by the workflow, so
// its transaction rolls back, or (after its COMMIT) the run is in doubt until resolved.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "ledger/ledger.hpp"
#include "run/host.hpp"

namespace datafix::run {

// Who this server is to the others on its ledger: its instance (`[server] instance`, default
// `<host>:<data_dir>`, the same across restarts) and its incarnation (this process, new at every
// start). Run leases and claimed outbox rows carry both.
struct ServerIdentity {
    std::string instance;
    std::string incarnation;
};

// `instance` as configured ([server] instance); empty: `<host>:<data_dir>`.
ServerIdentity server_identity(const std::string& instance, const std::string& data_dir);

class RunLeases {
  public:
    RunLeases(Host& host, ServerIdentity identity, std::chrono::milliseconds lease);
    ~RunLeases();
    RunLeases(const RunLeases&) = delete;
    RunLeases& operator=(const RunLeases&) = delete;

    // The lease of a run this server has just started, released when it goes out of scope (the
    // run has ended). Failures to write it are logged: the run then looks lapsed to the others
    // once its start is a lease old, which errs toward settling it, never toward running twice.
    class Held {
      public:
        Held(RunLeases& leases, model::RequestNumber request, int run);
        ~Held();
        Held(const Held&) = delete;
        Held& operator=(const Held&) = delete;

      private:
        RunLeases& leases_;
        model::RequestNumber request_;
        int run_;
    };

    // Whether this server may settle `run` now: never while this process executes it; else when
    // it belongs to this process (its outcome could not be recorded) or to an earlier life of this
    // instance, or its lease lapsed (or it never had one and started a lease ago).
    bool settleable(const ledger::RunningRun& run, model::Time now);

    // Renews this process's leases (and its claims on outbox rows) every third of a lease, then
    // calls `sweep`.
    void start_heartbeat(std::function<void()> sweep);

    const std::string& instance() const { return instance_; }

  private:
    void hold(model::RequestNumber request, int run);
    void release(model::RequestNumber request, int run) noexcept;
    void beat();

    Host& host_;
    std::string instance_;
    std::string incarnation_;
    std::chrono::milliseconds lease_;
    std::function<void()> sweep_;
    std::mutex mutex_;
    std::set<std::pair<model::RequestNumber, int>> executing_;  // under mutex_
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread heartbeat_;
};

}  // namespace datafix::run
