// The executor: the glue between a workflow step and the target database. It asks the workflow
// to start a run, opens a guarded target session, runs preview / apply / revert, and reports the
// xid before COMMIT and the outcome through the workflow, so the ledger always knows what is in
// flight. Runs are synchronous in the HTTP worker that asked; watchers see them live.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "server/context.hpp"
#include "target/change_plan.hpp"

namespace datafix::server {

class Executor {
  public:
    explicit Executor(Context& context);

    nlohmann::json preview(ledger::RequestNumber number, const std::string& environment,
                           const workflow::Actor& actor);
    nlohmann::json apply(ledger::RequestNumber number, const std::string& environment,
                         const std::string& fingerprint, const workflow::Actor& actor);
    nlohmann::json revert(ledger::RequestNumber number, const std::string& environment,
                          const workflow::Actor& actor);
    // An in-doubt apply or revert: asks the target what happened and records the answer.
    nlohmann::json resolve(ledger::RequestNumber number, int run, const workflow::Actor& actor);

    // At start: settles every run the ledger still shows running, which a server that stopped
    // (killed, crashed, its ledger full) left behind. A preview, or an apply or revert whose xid
    // was never recorded, never sent COMMIT: failed, nothing changed. An apply or revert with its
    // xid recorded is in doubt and is resolved at once when the target can tell (pg_xact_status
    // and the rows against the images); else it stays in doubt for datafix resolve. Returns how
    // many runs it settled. With several servers on one PostgreSQL ledger, a run another server
    // is executing right now ends failed before its COMMIT (the workflow refuses its xid), or in
    // doubt after it: never committed twice, never lost.
    int recover();

  private:
    Context& context_;
};

// The target's plan for a revision: the SQL guard's statements and capture plans, with the
// declared counts. Throws Error(refused) if the stored text no longer passes the guard.
target::ChangePlan change_plan(const ledger::Revision& revision, const std::string& name);

}  // namespace datafix::server
