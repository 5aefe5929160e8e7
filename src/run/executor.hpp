// The executor: the glue between a workflow step and the target database. It asks the workflow
// to start a run, opens a guarded target session, runs preview / apply / revert, and reports the
// xid before COMMIT and the outcome through the workflow, so the ledger always knows what is in
// flight. Runs are synchronous in the caller's thread (an HTTP worker); watchers see them live
// through the host's events. Every step answers a RunReport: an outcome in doubt or not committed
// is a report, not an exception, and the server decides how to answer it. Errors (refusals with
// their rule, the target's and discovery's failures) are thrown after the run is recorded failed.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "run/host.hpp"
#include "run/live_registry.hpp"
#include "run/run_leases.hpp"
#include "run/run_report.hpp"
#include "targetdb/change_plan.hpp"

namespace datafix::run {

class Executor {
  public:
    Executor(Host& host, ServerIdentity identity, std::chrono::milliseconds run_lease);

    RunReport preview(model::RequestNumber number, const std::string& environment,
                      const workflow::Actor& actor);
    RunReport apply(model::RequestNumber number, const std::string& environment,
                    const std::string& fingerprint, const workflow::Actor& actor);
    RunReport revert(model::RequestNumber number, const std::string& environment,
                     const workflow::Actor& actor);
    // Live mode (an environment with live = true): the driver's call starts the run, which
    // executes the change once on a thread of its own and keeps its transaction open; the call
    // answers once the evidence is shown (status "open", the deadline) or the run failed.
    RunReport start_live(model::RequestNumber number, const std::string& environment,
                         const workflow::Actor& actor);
    // The pair's approval of what the open live run shows: recorded, then that transaction
    // commits; answers the outcome (as apply does).
    RunReport approve_live(model::RequestNumber number, const std::string& environment,
                           const std::string& revision_hash, const std::string& fingerprint,
                           const workflow::Actor& actor);
    // The driver or the pair cancels the open live run: recorded, then rolled back.
    RunReport cancel_live(model::RequestNumber number, const std::string& environment,
                          const workflow::Actor& actor);

    // An in-doubt apply or revert: asks the target what happened and records the answer.
    RunReport resolve(model::RequestNumber number, int run, const workflow::Actor& actor);

    // Settles every run the ledger still shows running whose server is gone: this server's own
    // from before a restart, and any whose lease lapsed (run_leases.hpp). A preview, or an apply
    // or revert whose xid was never recorded, never sent COMMIT: failed, nothing changed. An
    // apply or revert with its xid recorded is in doubt and is resolved at once when the target
    // can tell (pg_xact_status and the rows against the images); else it stays in doubt for
    // datafix resolve. Returns how many runs it settled. Called at start, before the server
    // listens, and then by the heartbeat. A run whose server is in fact still executing it ends
    // failed before its COMMIT (the workflow refuses its xid), or in doubt after it: never
    // committed twice, never lost.
    int recover();

    // Starts renewing this server's run leases, sweeping for lapsed runs after each renewal,
    // then calling `after_sweep` (e.g. reclaiming outbox rows of servers that are gone).
    void keep_leases(std::function<void()> after_sweep = {});

  private:
    RunReport run_live(model::RequestNumber number, int run, const model::RequestState& state,
                       const EnvironmentConfig& environment, const targetdb::LiveLimits& limits,
                       model::Time deadline, const workflow::Actor& actor, LiveSlot& slot);
    targetdb::LiveDecision await_live(model::RequestNumber number, int run, model::Time deadline,
                                      const workflow::Actor& actor, LiveSlot& slot);

    Host& host_;
    RunLeases leases_;
    // Last: stopping the server rolls back the open live transactions before the leases go.
    LiveRegistry live_;
};

// The target's plan for a revision: the SQL guard's statements and capture plans, with the
// declared counts. Throws Error(refused) if the stored text no longer passes the guard, and
// Error(internal, rule stored-change-mismatch) if it no longer has the revision's statements.
targetdb::ChangePlan change_plan(const model::Revision& revision, const std::string& name);

}  // namespace datafix::run
