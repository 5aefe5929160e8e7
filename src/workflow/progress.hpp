// Where a request stands, per environment, for `datafix show` and the web page: derived from
// the state by the same reading the rules use, so what people see is what the rules decide on.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model/request_state.hpp"
#include "model/time.hpp"
#include "workflow/config.hpp"

namespace datafix::workflow {

enum class Stage {
    waiting,    // an earlier environment is not applied yet (with the current revision)
    ready,      // may be previewed
    running,    // a run is in progress
    in_doubt,   // an apply or revert has an unknown outcome: resolve first
    previewed,  // evidence recorded, not approved yet
    approved,   // the pair approved the latest evidence: may be applied
    applied,    // applied with the current revision
    reverted,   // applied, then reverted
};

std::string_view stage_name(Stage stage);

struct EnvironmentProgress {
    std::string name;
    Stage stage = Stage::waiting;
    int preview_run = 0;      // latest succeeded preview of the current revision, 0 if none
    std::string fingerprint;  // its evidence fingerprint
    int apply_run = 0;        // the succeeded apply of the current revision, 0 if none
    // A live run whose transaction is open here: its number, the evidence it shows (empty until
    // it has run) and when its window ends (the pages count down to it).
    int live_run = 0;
    std::string live_fingerprint;
    std::optional<model::Time> live_deadline;
};

struct Progress {
    int revision = 0;
    std::string revision_hash;
    bool lease_active = false;
    bool product_owner_approved = false;  // for the current revision
    std::vector<EnvironmentProgress> environments;
};

Progress summarize(const model::RequestState& state, const WorkflowConfig& config, model::Time now);

// When a live run's window ends: its start plus its environment's live_window (its start for an
// environment no longer configured).
model::Time live_deadline(const WorkflowConfig& config, const model::Run& run);

// An environment whose data still holds a change of this request: an apply no revert undid.
struct HeldChange {
    std::string environment;
    int revision = 0;   // the revision applied there
    int apply_run = 0;  // the apply that changed it
};
// In promotion order.
std::vector<HeldChange> held_changes(const model::RequestState& state,
                                     const WorkflowConfig& config);
// The held changes of a revision older than the current one, in environments that are not
// production: put back (each revert approved by the pair) before the current revision runs.
std::vector<HeldChange> stale_changes(const model::RequestState& state,
                                      const WorkflowConfig& config);

// Who the next step waits on.
enum class Owner {
    nobody,         // the request is finished: nothing waits
    developer,      // any developer: claim it, or join as the pair
    driver,         // the request's driver (or, once closed, its last driver)
    pair,           // the request's pair
    product_owner,  // the requesting product owner
    running,        // a run is under way: it waits on the server, started by `person`
};
std::string_view owner_name(Owner owner);

// The request's next step, in words, and who owns it: read the way the rules decide, so the
// inbox never offers a step the rules refuse.
struct NextStep {
    std::string step;         // a stable name: claim, pair, change, preview, approve, apply, ...
    std::string what;         // in words, e.g. "approve the evidence of preview #3 in dev"
    std::string environment;  // empty when not tied to one
    Owner owner = Owner::nobody;
    model::UserId person = 0;  // who owns it by name; 0 when any developer may take it
};
NextStep next_step(const model::RequestState& state, const WorkflowConfig& config, model::Time now);

// What a new revision or a cancel does besides itself, told before it is confirmed and after:
// the approvals it voids (both void every approval that still counts) and the environments whose
// data still holds a change of the request.
struct Consequences {
    std::vector<model::Approval> voided;
    std::vector<HeldChange> held;
};
Consequences consequences(const model::RequestState& state, const WorkflowConfig& config);

}  // namespace datafix::workflow
