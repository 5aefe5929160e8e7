// Live mode, the runbook's own flow for an environment that allows it: the driver runs the change
// once and its transaction stays open; the pair sees what it shows and their approval of exactly
// that evidence commits it; a cancel or the end of the window rolls it back. The product owner's
// approval and the backup an environment requires come before the live run starts, as for apply.
#include <utility>

#include "workflow/progress.hpp"
#include "workflow/reading.hpp"
#include "workflow/rules.hpp"

namespace datafix::workflow::rules {

using model::RequestState;
using model::Run;
using model::RunKind;
using model::RunState;

namespace {

std::optional<Refusal> require_open_live_run(const Context& ctx, const Run* run, int number) {
    if (run == nullptr || run->kind != RunKind::live) {
        return refusal("live-not-found", "no live run " + std::to_string(number) + " here",
                       "list the runs with " + command(ctx, "show"), ErrorCode::not_found);
    }
    if (run->state != RunState::running) {
        return refusal("live-not-open",
                       "live run " + std::to_string(number) + " has ended (" +
                           std::string(model::run_state_name(run->state)) + ")",
                       "");
    }
    return std::nullopt;
}

}  // namespace

void void_live_approvals(RequestState& next, const Run& run) {
    for (model::Approval& approval : next.approvals) {
        if (approval.kind == model::ApprovalKind::evidence &&
            approval.environment == run.environment && approval.revision == run.revision &&
            approval.fingerprint == run.fingerprint) {
            approval.voided = true;
        }
    }
}

Decision start_live(const Context& ctx, const StartLive& action) {
    if (auto r = require_environment(ctx, action.environment)) {
        return refuse(ctx.state, *r);
    }
    if (!ctx.config.find(action.environment)->live) {
        return refuse(ctx.state,
                      refusal("live-off", action.environment + " does not allow live mode",
                              "preview there and have the pair approve the evidence (" +
                                  command(ctx, "preview", action.environment) +
                                  "); an admin enables it with live = true for " +
                                  action.environment + " in datafix.toml"));
    }
    if (auto r = check_promotion(ctx, action.environment)) {
        return refuse(ctx.state, *r);
    }
    if (auto r = check_backup(ctx, action.environment)) {
        return refuse(ctx.state, *r);
    }
    return start_run(ctx, RunKind::live, action.environment, *ctx.state.current_revision(), "", 0,
                     "live.started");
}

Decision record_live_evidence(const Context& ctx, const RecordLiveEvidence& action) {
    const Run* run = reading::find_run(ctx.state, action.run);
    if (auto r = require_open_live_run(ctx, run, action.run)) {
        return refuse(ctx.state, *r);
    }
    if (run->started_by != ctx.actor.id) {
        return refuse(ctx.state,
                      refusal("run-owner", "only the person who started the run reports it", "",
                              ErrorCode::forbidden));
    }
    if (action.fingerprint.empty() || !run->fingerprint.empty()) {
        return refuse(ctx.state, refusal("live-evidence-once",
                                         "a live run records its evidence once, with its "
                                         "fingerprint",
                                         "", ErrorCode::invalid_input));
    }
    RequestState next = ctx.state;
    Run& changed = next.runs[static_cast<std::size_t>(run - ctx.state.runs.data())];
    changed.fingerprint = action.fingerprint;
    changed.counts = action.counts;
    changed.before_images_path = action.images_path;
    changed.after_images_path = action.images_path;
    changed.verify_results = action.verify_results;
    std::string detail = "run=" + std::to_string(run->number) + " counts=";
    for (std::size_t i = 0; i < action.counts.size(); ++i) {
        detail += (i == 0 ? "" : ",") + std::to_string(action.counts[i]);
    }
    return allow(std::move(next), {event(ctx, "live.evidence",
                                         {.environment = run->environment,
                                          .statement_hash = run->revision_hash,
                                          .fingerprint = action.fingerprint,
                                          .detail = detail})});
}

Decision approve_live(const Context& ctx, const ApproveLive& action) {
    if (auto r = check_evidence_approval(ctx, action.environment, action.revision_hash)) {
        return refuse(ctx.state, *r);
    }
    const Run* run = reading::open_live_run(ctx.state, action.environment);
    if (run == nullptr) {
        return refuse(
            ctx.state,
            refusal("live-not-open", "no live run is open in " + action.environment,
                    "the driver starts one (" + command(ctx, "live", action.environment) + ")"));
    }
    if (run->fingerprint.empty()) {
        return refuse(ctx.state, refusal("live-evidence-pending",
                                         "live run " + std::to_string(run->number) +
                                             " has not shown its evidence yet",
                                         "look again when it has (" + command(ctx, "show") + ")"));
    }
    if (action.fingerprint != run->fingerprint) {
        return refuse(ctx.state,
                      refusal("evidence-stale",
                              "the evidence named is not what live run " +
                                  std::to_string(run->number) + " shows",
                              "review and approve its evidence (" + run->fingerprint + ")"));
    }
    if (ctx.now > live_deadline(ctx.config, *run)) {
        return refuse(ctx.state, refusal("live-window-ended",
                                         "the window of live run " + std::to_string(run->number) +
                                             " has ended; its transaction is rolled back",
                                         "the driver starts it again (" +
                                             command(ctx, "live", action.environment) + ")"));
    }
    if (reading::live_approved(ctx.state, *run)) {
        return refuse(ctx.state, refusal("already-approved", "this evidence is already approved",
                                         "it commits now"));
    }
    return add_approval(ctx, model::ApprovalKind::evidence, action.environment, run->revision,
                        run->revision_hash, run->fingerprint, "live.approved");
}

Decision end_live(const Context& ctx, const EndLive& action) {
    const Run* run = reading::find_run(ctx.state, action.run);
    if (auto r = require_open_live_run(ctx, run, action.run)) {
        return refuse(ctx.state, *r);
    }
    const bool starter = run->started_by == ctx.actor.id;
    const bool admin = ctx.actor.role == model::Role::admin;
    const bool may = action.why == LiveEnd::window_ended
                         ? starter || admin
                         : starter || admin || reading::is_driver(ctx.state, ctx.actor.id) ||
                               reading::is_pair(ctx.state, ctx.actor.id);
    if (!may) {
        return refuse(ctx.state, refusal("live-cancel",
                                         "only the driver or the pair cancels a live "
                                         "run",
                                         "", ErrorCode::forbidden));
    }
    if (run->xid.has_value() || reading::live_approved(ctx.state, *run)) {
        return refuse(ctx.state, refusal("live-committing",
                                         "the pair approved live run " +
                                             std::to_string(run->number) + " and it is committing",
                                         "see its outcome with " + command(ctx, "show")));
    }
    RequestState next = ctx.state;
    Run& changed = next.runs[static_cast<std::size_t>(run - ctx.state.runs.data())];
    changed.state = RunState::failed;
    changed.finished_at = ctx.now;
    const bool cancelled = action.why == LiveEnd::cancelled;
    changed.failure = cancelled ? "cancelled: the live transaction was cancelled and rolled back"
                                : "window_ended: nobody approved within the live window; the "
                                  "transaction was rolled back";
    changed.before_images_path.clear();
    changed.after_images_path.clear();
    changed.verify_results.clear();
    void_live_approvals(next, changed);
    return allow(std::move(next), {event(ctx, cancelled ? "live.cancelled" : "live.window_ended",
                                         {.environment = changed.environment,
                                          .statement_hash = changed.revision_hash,
                                          .fingerprint = changed.fingerprint,
                                          .detail = "run=" + std::to_string(changed.number)})});
}

}  // namespace datafix::workflow::rules
