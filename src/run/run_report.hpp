// What a run answers, typed: the server shapes it into JSON (state_json) and chooses the HTTP
// status (an outcome in doubt is a 202, one that did not commit an error), never the run layer.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "model/request_state.hpp"
#include "targetdb/evidence.hpp"
#include "targetdb/preflight.hpp"

namespace datafix::run {

enum class RunStatus {
    previewed,      // a preview rehearsed the change and rolled back
    committed,      // an apply, revert or live run committed (or was resolved as committed)
    not_committed,  // its COMMIT did not happen; nothing changed
    in_doubt,       // its COMMIT was sent and the outcome is not known yet
    rolled_back,    // a live run cancelled or out of time, or an in-doubt run resolved so
    open,           // a live run's transaction is open and its evidence shown
    approved,       // a live run approved; the server holding it commits
};

std::string_view run_status_name(RunStatus status);

struct RunReport {
    int run = 0;
    model::RunKind kind = model::RunKind::preview;
    RunStatus status = RunStatus::previewed;
    std::string resolved_by;  // how an outcome was learned (the commit's answer, pg_xact_status)
    std::string xid;
    // What the run captured (a preview's rehearsal, an apply's images, the live run's shown).
    std::optional<targetdb::Evidence> evidence;
    // The pre-flight report the run met (preview, live).
    std::optional<targetdb::PreflightReport> preflight;
    // rolled_back: why; in_doubt: why the connection was lost, when discovery knows.
    std::string reason;
    // in_doubt because the ledger could not record an outcome the target reached.
    bool outcome_unrecorded = false;
    // open: the live run's deadline and the fingerprint the pair approves.
    std::optional<model::Time> deadline;
    std::string fingerprint;
};

}  // namespace datafix::run
