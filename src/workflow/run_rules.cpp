// Runs on an environment: preview -> (the pair approves) -> apply, in the configured order;
// reverts; and the executor's reports (in flight, finished, in doubt resolved).
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

std::string counts_detail(const std::vector<std::int64_t>& counts) {
    std::string out = "counts=";
    for (std::size_t i = 0; i < counts.size(); ++i) {
        out += (i == 0 ? "" : ",") + std::to_string(counts[i]);
    }
    return out;
}

}  // namespace

// The checks shared by preview, apply and live: where the request stands for `environment`.
std::optional<Refusal> check_promotion(const Context& ctx, const std::string& environment) {
    if (auto r = require_environment(ctx, environment)) {
        return r;
    }
    if (auto r = require_open(ctx)) {
        return r;
    }
    if (auto r = require_driver(ctx)) {
        return r;
    }
    const model::Revision* revision = ctx.state.current_revision();
    if (revision == nullptr) {
        return refusal("revision-required", "no change is attached to the request yet",
                       "attach the change first (" +
                           command(ctx, "change", "--change FILE --expect ROWS") + ")");
    }
    if (auto r = require_idle(ctx)) {
        return r;
    }
    if (auto r = require_resolved(ctx, environment)) {
        return r;
    }
    std::vector<HeldChange> stale = stale_changes(ctx.state, ctx.config);
    if (!stale.empty()) {
        const HeldChange& last = stale.back();
        return refusal(
            "revert-first",
            last.environment + " still holds revision " + std::to_string(last.revision) +
                "; revision " + std::to_string(revision->number) +
                " runs once that data is put back",
            "the pair approves the revert (" + command(ctx, "approve-revert", last.environment) +
                "), then the driver reverts (" + command(ctx, "revert", last.environment) + ")");
    }
    const int index = ctx.config.index_of(environment);
    if (index > 0) {
        const std::string& previous =
            ctx.config.environments[static_cast<std::size_t>(index - 1)].name;
        if (reading::applied_run(ctx.state, previous, revision->number) == nullptr) {
            return refusal("environment-order",
                           environment + " comes after " + previous + ", which is not applied " +
                               "with revision " + std::to_string(revision->number) + " yet",
                           "preview, approve and apply in " + previous + " first");
        }
    }
    if (reading::applied_run(ctx.state, environment, revision->number) != nullptr) {
        return refusal(
            "environment-applied",
            environment + " is already applied with revision " + std::to_string(revision->number),
            "continue with the next environment");
    }
    const EnvironmentRules& rules = *ctx.config.find(environment);
    if (rules.needs_product_owner_approval &&
        !reading::product_owner_approved(ctx.state, revision->number)) {
        return refusal("product-owner-approval-required",
                       environment +
                           " needs the requesting product owner's approval of "
                           "revision " +
                           std::to_string(revision->number),
                       "ask the product owner to verify the previous environment and approve (" +
                           command(ctx, "approve-prod") + ")");
    }
    return std::nullopt;
}

std::optional<Refusal> check_backup(const Context& ctx, const std::string& environment) {
    const EnvironmentRules& rules = *ctx.config.find(environment);
    if (!rules.needs_backup) {
        return std::nullopt;
    }
    const model::Revision& revision = *ctx.state.current_revision();
    std::optional<model::Time> after;
    const int index = ctx.config.index_of(environment);
    if (index > 0) {
        const Run* previous = reading::applied_run(
            ctx.state, ctx.config.environments[static_cast<std::size_t>(index - 1)].name,
            revision.number);
        if (previous != nullptr && previous->finished_at.has_value()) {
            after = *previous->finished_at;
        }
    }
    for (const model::Backup& backup : ctx.state.backups) {
        const bool fresh = ctx.now - backup.taken_at <= rules.backup_max_age;
        const bool in_order = !after.has_value() || backup.taken_at >= *after;
        if (backup.verified && backup.environment == environment &&
            backup.revision == revision.number && fresh && in_order) {
            return std::nullopt;
        }
    }
    return refusal("backup-required",
                   environment +
                       " needs a verified backup taken after the previous apply and "
                       "at most " +
                       std::to_string(rules.backup_max_age.count()) + " minutes old",
                   "take one now: datafix backup " + std::to_string(ctx.state.request.number) +
                       " " + environment);
}

Decision start_run(const Context& ctx, RunKind kind, const std::string& environment,
                   const model::Revision& revision, std::string fingerprint, int applies_run,
                   const char* action) {
    RequestState next = ctx.state;
    Run run;
    run.number = next.runs.empty() ? 1 : next.runs.back().number + 1;
    run.revision = revision.number;
    run.revision_hash = revision.hash;
    run.environment = environment;
    run.kind = kind;
    run.state = RunState::running;
    run.started_by = ctx.actor.id;
    run.started_at = ctx.now;
    run.fingerprint = std::move(fingerprint);
    run.applies_run = applies_run;
    const int number = run.number;
    std::string detail = "run=" + std::to_string(number);
    if (applies_run != 0) {
        detail += " reverts_run=" + std::to_string(applies_run);
    }
    model::AuditEvent e = event(ctx, action,
                                {.environment = environment,
                                 .statement_hash = revision.hash,
                                 .fingerprint = run.fingerprint,
                                 .detail = detail});
    next.runs.push_back(std::move(run));
    renew_lease(next, ctx);
    Decision decision = allow(std::move(next), {std::move(e)});
    decision.run = number;
    return decision;
}

namespace {

const model::Revision* revision_of(const RequestState& state, int number) {
    for (const model::Revision& revision : state.revisions) {
        if (revision.number == number) {
            return &revision;
        }
    }
    return nullptr;
}

// A report about a run: it must exist and come from whoever started it (or an admin).
std::optional<Refusal> check_report(const Context& ctx, const Run* run, int number) {
    if (run == nullptr) {
        return refusal("run-not-found", "no run " + std::to_string(number) + " on this request",
                       "list the runs with " + command(ctx, "show"), ErrorCode::not_found);
    }
    if (run->started_by != ctx.actor.id && ctx.actor.role != model::Role::admin) {
        return refusal("run-owner", "only the person who started the run reports its outcome", "",
                       ErrorCode::forbidden);
    }
    return std::nullopt;
}

const char* kind_prefix(RunKind kind) {
    switch (kind) {
        case RunKind::preview:
            return "preview";
        case RunKind::apply:
            return "apply";
        case RunKind::revert:
            return "revert";
        case RunKind::live:
            return "live";
    }
    return "run";
}

// After a committed apply: the last environment ends the request.
void after_commit(const Context& ctx, RequestState& next, const Run& run,
                  std::vector<model::AuditEvent>& events) {
    if (run.kind != RunKind::apply && run.kind != RunKind::live) {
        return;
    }
    if (run.environment == ctx.config.environments.back().name &&
        next.request.status == model::RequestStatus::open) {
        next.request.status = model::RequestStatus::done;
        events.push_back(event(ctx, "request.done",
                               {.environment = run.environment,
                                .statement_hash = run.revision_hash,
                                .fingerprint = run.fingerprint}));
    }
}

}  // namespace

Decision start_preview(const Context& ctx, const StartPreview& action) {
    if (auto r = check_promotion(ctx, action.environment)) {
        return refuse(ctx.state, *r);
    }
    return start_run(ctx, RunKind::preview, action.environment, *ctx.state.current_revision(), "",
                     0, "preview.started");
}

Decision start_apply(const Context& ctx, const StartApply& action) {
    if (auto r = check_promotion(ctx, action.environment)) {
        return refuse(ctx.state, *r);
    }
    const model::Revision& revision = *ctx.state.current_revision();
    const Run* evidence = reading::latest_evidence(ctx.state, action.environment, revision.number);
    if (evidence == nullptr) {
        return refuse(
            ctx.state,
            refusal("evidence-required",
                    "no preview of revision " + std::to_string(revision.number) + " in " +
                        action.environment + " yet",
                    "preview first (" + command(ctx, "preview", action.environment) + ")"));
    }
    if (action.fingerprint != evidence->fingerprint) {
        return refuse(
            ctx.state,
            refusal("evidence-stale",
                    "the evidence named is not the latest preview in " + action.environment,
                    "apply the latest evidence (" + evidence->fingerprint + ")"));
    }
    if (reading::valid_approval(ctx.state, model::ApprovalKind::evidence, action.environment,
                                revision.number, evidence->fingerprint) == nullptr) {
        return refuse(ctx.state,
                      refusal("evidence-not-approved",
                              "the pair has not approved this evidence in " + action.environment,
                              "ask the pair to approve it (" +
                                  command(ctx, "approve", action.environment) + ")"));
    }
    if (auto r = check_backup(ctx, action.environment)) {
        return refuse(ctx.state, *r);
    }
    return start_run(ctx, RunKind::apply, action.environment, revision, evidence->fingerprint, 0,
                     "apply.started");
}

Decision start_revert(const Context& ctx, const StartRevert& action) {
    if (auto r = require_environment(ctx, action.environment)) {
        return refuse(ctx.state, *r);
    }
    if (auto r = require_driver(ctx)) {
        return refuse(ctx.state, *r);
    }
    if (auto r = require_idle(ctx)) {
        return refuse(ctx.state, *r);
    }
    if (auto r = require_resolved(ctx, action.environment)) {
        return refuse(ctx.state, *r);
    }
    const Run* apply = reading::revertable_apply(ctx.state, action.environment);
    if (apply == nullptr) {
        return refuse(ctx.state,
                      refusal("nothing-to-revert",
                              "nothing applied in " + action.environment + " to revert", ""));
    }
    const EnvironmentRules& rules = *ctx.config.find(action.environment);
    if (rules.production) {
        if (ctx.state.request.status != model::RequestStatus::done) {
            return refuse(
                ctx.state,
                refusal("revert-after-done",
                        "reverting " + action.environment + " is for a done request", ""));
        }
        if (reading::valid_approval(ctx.state, model::ApprovalKind::emergency_revert,
                                    action.environment, apply->revision,
                                    apply->fingerprint) == nullptr) {
            return refuse(ctx.state,
                          refusal("emergency-revert-approval",
                                  "reverting " + action.environment +
                                      " is an emergency: the pair must approve it first",
                                  "ask the pair to approve the revert (" +
                                      command(ctx, "approve-revert", action.environment) + ")"));
        }
    } else if (ctx.state.request.status == model::RequestStatus::open &&
               apply->revision != ctx.state.current_revision()->number) {
        // Data of an earlier revision, put back before the current one runs: four eyes, as for
        // production.
        if (reading::valid_approval(ctx.state, model::ApprovalKind::emergency_revert,
                                    action.environment, apply->revision,
                                    apply->fingerprint) == nullptr) {
            return refuse(ctx.state,
                          refusal("revert-approval",
                                  "reverting revision " + std::to_string(apply->revision) + " in " +
                                      action.environment + " needs the pair's approval first",
                                  "ask the pair to approve the revert (" +
                                      command(ctx, "approve-revert", action.environment) + ")"));
        }
    } else if (ctx.state.request.status == model::RequestStatus::open) {
        return refuse(
            ctx.state,
            refusal("revert-after-done",
                    "data in " + action.environment +
                        " is put back after prod is applied (or the request is "
                        "cancelled)",
                    "finish the request first, or cancel it; a new revision puts it "
                    "back first (" +
                        command(ctx, "change", "--change FILE --expect ROWS --revert-first") +
                        ")"));
    }
    const model::Revision* revision = revision_of(ctx.state, apply->revision);
    return start_run(ctx, RunKind::revert, action.environment, *revision, apply->fingerprint,
                     apply->number, "revert.started");
}

Decision record_in_flight(const Context& ctx, const RecordInFlight& action) {
    const Run* run = reading::find_run(ctx.state, action.run);
    if (auto r = check_report(ctx, run, action.run)) {
        return refuse(ctx.state, *r);
    }
    if (run->kind == RunKind::preview) {
        return refuse(ctx.state, refusal("run-never-commits", "a preview never commits", "",
                                         ErrorCode::invalid_input));
    }
    if (run->state != RunState::running) {
        return refuse(ctx.state,
                      refusal("run-not-running",
                              "run " + std::to_string(run->number) + " is not running", ""));
    }
    if (run->kind == RunKind::live && !reading::live_approved(ctx.state, *run)) {
        // The driver cannot commit alone: only the pair's approval of what the open
        // transaction shows lets it reach COMMIT.
        return refuse(ctx.state, refusal("live-not-approved",
                                         "the pair has not approved what live run " +
                                             std::to_string(run->number) + " shows",
                                         "ask the pair to approve it (" +
                                             command(ctx, "approve", run->environment) + ")"));
    }
    RequestState next = ctx.state;
    Run& changed = next.runs[static_cast<std::size_t>(run - ctx.state.runs.data())];
    changed.xid = action.xid;
    changed.backend_pid = action.backend_pid;
    std::string detail = "run=" + std::to_string(run->number) +
                         " xid=" + std::to_string(action.xid) +
                         " pid=" + std::to_string(action.backend_pid);
    return allow(std::move(next), {event(ctx, std::string(kind_prefix(run->kind)) + ".in_flight",
                                         {.environment = run->environment,
                                          .statement_hash = run->revision_hash,
                                          .fingerprint = run->fingerprint,
                                          .detail = detail})});
}

Decision finish_run(const Context& ctx, const FinishRun& action) {
    const Run* run = reading::find_run(ctx.state, action.run);
    if (auto r = check_report(ctx, run, action.run)) {
        return refuse(ctx.state, *r);
    }
    if (run->state != RunState::running) {
        return refuse(ctx.state,
                      refusal("run-not-running",
                              "run " + std::to_string(run->number) + " is not running", ""));
    }
    if (run->kind == RunKind::preview && action.outcome == RunOutcome::in_doubt) {
        return refuse(ctx.state, refusal("run-never-commits", "a preview never commits", "",
                                         ErrorCode::invalid_input));
    }
    if (run->kind == RunKind::preview && action.outcome == RunOutcome::succeeded &&
        action.fingerprint.empty()) {
        return refuse(ctx.state, refusal("evidence-fingerprint-required",
                                         "a preview's evidence needs its fingerprint", "",
                                         ErrorCode::invalid_input));
    }
    RequestState next = ctx.state;
    Run& changed = next.runs[static_cast<std::size_t>(run - ctx.state.runs.data())];
    changed.finished_at = ctx.now;
    changed.counts = action.counts;
    if (!action.fingerprint.empty() && run->kind == RunKind::preview) {
        changed.fingerprint = action.fingerprint;
    }
    changed.before_images_path = action.before_images_path;
    changed.after_images_path = action.after_images_path;
    changed.verify_results = action.verify_results;
    changed.failure = action.failure;
    std::string suffix;
    switch (action.outcome) {
        case RunOutcome::succeeded:
            changed.state = RunState::succeeded;
            suffix = run->kind == RunKind::preview ? ".succeeded" : ".committed";
            break;
        case RunOutcome::failed:
            changed.state = RunState::failed;
            suffix = ".failed";
            if (run->kind == RunKind::live) {
                void_live_approvals(next, changed);
            }
            break;
        case RunOutcome::in_doubt:
            changed.state = RunState::in_doubt;
            suffix = ".in_doubt";
            break;
    }
    std::vector<model::AuditEvent> events;
    events.push_back(event(
        ctx, std::string(kind_prefix(run->kind)) + suffix,
        {.environment = changed.environment,
         .statement_hash = changed.revision_hash,
         .fingerprint = changed.fingerprint,
         .detail = "run=" + std::to_string(changed.number) + " " + counts_detail(changed.counts)}));
    if (changed.state == RunState::succeeded) {
        after_commit(ctx, next, changed, events);
    }
    renew_lease(next, ctx);
    return allow(std::move(next), std::move(events));
}

Decision resolve_in_doubt(const Context& ctx, const ResolveInDoubt& action) {
    const Run* run = reading::find_run(ctx.state, action.run);
    if (run == nullptr) {
        return refuse(ctx.state, *check_report(ctx, run, action.run));
    }
    const bool allowed = run->started_by == ctx.actor.id ||
                         reading::is_driver(ctx.state, ctx.actor.id) ||
                         ctx.actor.role == model::Role::admin;
    if (!allowed) {
        return refuse(
            ctx.state,
            refusal("run-owner", "only the driver, the run's starter or an admin resolves it", "",
                    ErrorCode::forbidden));
    }
    if (run->state != RunState::in_doubt) {
        return refuse(ctx.state,
                      refusal("run-not-in-doubt",
                              "run " + std::to_string(run->number) + " is not in doubt", ""));
    }
    RequestState next = ctx.state;
    Run& changed = next.runs[static_cast<std::size_t>(run - ctx.state.runs.data())];
    changed.state = action.committed ? RunState::succeeded : RunState::rolled_back;
    std::vector<model::AuditEvent> events;
    events.push_back(event(ctx,
                           std::string(kind_prefix(run->kind)) +
                               (action.committed ? ".resolved_committed" : ".resolved_rolled_back"),
                           {.environment = changed.environment,
                            .statement_hash = changed.revision_hash,
                            .fingerprint = changed.fingerprint,
                            .detail = "run=" + std::to_string(changed.number)}));
    if (action.committed) {
        after_commit(ctx, next, changed, events);
    }
    return allow(std::move(next), std::move(events));
}

}  // namespace datafix::workflow::rules
