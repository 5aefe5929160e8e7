// Internal to the workflow: the rule functions decide() dispatches to, one per action, and the
// small helpers they share (refusals, events, the driver check, lease renewal).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/audit.hpp"
#include "model/request_state.hpp"
#include "workflow/accounts.hpp"
#include "workflow/action.hpp"
#include "workflow/config.hpp"
#include "workflow/decision.hpp"

// Events are built with designated initializers that name only the fields they set; the rest
// stay empty on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace datafix::workflow::rules {

struct Context {
    const model::RequestState& state;
    const Actor& actor;
    model::Time now;
    const WorkflowConfig& config;
};

Refusal refusal(std::string rule, std::string message, std::string hint,
                ErrorCode code = ErrorCode::rule);

struct EventFields {
    std::string environment;
    std::string statement_hash;
    std::string fingerprint;
    std::string detail;
};
model::AuditEvent event(const Context& ctx, std::string action, EventFields fields = {});

Decision allow(model::RequestState next, std::vector<model::AuditEvent> events);

// A command line a HINT names, ready to copy: "datafix <verb> <request number>[ <rest>]". Every
// verb named here is one the CLI registers (tests/workflow/hint_verbs_test.cpp checks).
std::string command(const Context& ctx, std::string_view verb, std::string_view rest = {});

// The actor drives this request and the lease has not ended.
std::optional<Refusal> require_driver(const Context& ctx);
// The request is open (not done, not cancelled).
std::optional<Refusal> require_open(const Context& ctx);
// No run is in progress on the request.
std::optional<Refusal> require_idle(const Context& ctx);
// The environment is configured.
std::optional<Refusal> require_environment(const Context& ctx, const std::string& environment);
// Nothing in doubt in that environment.
std::optional<Refusal> require_resolved(const Context& ctx, const std::string& environment);
// The driver acted: the lease starts again.
void renew_lease(model::RequestState& next, const Context& ctx);

std::string current_revision_hash(const model::RequestState& state);

// Four eyes by history (four_eyes_rules.cpp): the person (with the admin who issued their
// token and, until it is confirmed, the admin who created their account) of an allowed step
// must not be on another side of the request; then they are recorded on theirs.
std::optional<Refusal> check_four_eyes(const model::RequestState& state, const Action& action,
                                       const Actor& actor, const WorkflowConfig& config);
void record_participants(model::RequestState& next, const Action& action, const Actor& actor,
                         const WorkflowConfig& config);

Decision claim(const Context& ctx, const ClaimRequest& action);
Decision release(const Context& ctx, const ReleaseClaim& action);
Decision hand_over(const Context& ctx, const HandOver& action);
Decision join_pair(const Context& ctx, const JoinPair& action);
Decision leave_pair(const Context& ctx, const LeavePair& action);
Decision cancel(const Context& ctx, const CancelRequest& action);
Decision attach_revision(const Context& ctx, const AttachRevision& action);
Decision start_preview(const Context& ctx, const StartPreview& action);
Decision start_apply(const Context& ctx, const StartApply& action);
Decision start_revert(const Context& ctx, const StartRevert& action);
Decision record_in_flight(const Context& ctx, const RecordInFlight& action);
Decision finish_run(const Context& ctx, const FinishRun& action);
Decision resolve_in_doubt(const Context& ctx, const ResolveInDoubt& action);
Decision approve_evidence(const Context& ctx, const ApproveEvidence& action);
Decision approve_production(const Context& ctx, const ApproveProduction& action);
Decision approve_emergency_revert(const Context& ctx, const ApproveEmergencyRevert& action);
Decision record_backup(const Context& ctx, const RecordBackup& action);
Decision add_comment(const Context& ctx, const AddComment& action);
Decision request_changes(const Context& ctx, const RequestChanges& action);
// Live mode (live_rules.cpp).
// A live run that ended without COMMIT: the approvals of its evidence are void, so they can
// never let another run commit.
void void_live_approvals(model::RequestState& next, const model::Run& run);
Decision start_live(const Context& ctx, const StartLive& action);
Decision record_live_evidence(const Context& ctx, const RecordLiveEvidence& action);
Decision approve_live(const Context& ctx, const ApproveLive& action);
Decision end_live(const Context& ctx, const EndLive& action);
// The checks live mode shares with preview and apply (run_rules.cpp): where the request stands
// for `environment` (driver, revision, order, product owner), and the backup it requires.
std::optional<Refusal> check_promotion(const Context& ctx, const std::string& environment);
std::optional<Refusal> check_backup(const Context& ctx, const std::string& environment);
Decision start_run(const Context& ctx, model::RunKind kind, const std::string& environment,
                   const model::Revision& revision, std::string fingerprint, int applies_run,
                   const char* action);
// The pair approves (not the driver, not a product owner); `verb` names the HINT's command.
std::optional<Refusal> check_pair_approver(const Context& ctx, std::string_view verb,
                                           const std::string& environment);
std::optional<Refusal> check_names_current(const Context& ctx, const std::string& hash);
// What every approval of evidence checks first, a preview's or a live run's: the environment
// exists, the request is open, the approver is the pair, and the revision named is current.
std::optional<Refusal> check_evidence_approval(const Context& ctx, const std::string& environment,
                                               const std::string& revision_hash);
Decision add_approval(const Context& ctx, model::ApprovalKind kind, const std::string& environment,
                      int revision, const std::string& revision_hash,
                      const std::string& fingerprint, const char* action);
// Changes requested on the current revision that the driver has not answered yet (by a new
// preview or a new revision): approvals wait for the driver.
std::optional<Refusal> require_no_changes_requested(const Context& ctx);

}  // namespace datafix::workflow::rules
