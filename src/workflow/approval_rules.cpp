// Four eyes: the pair approves exact evidence; the requesting product owner approves the
// production step; the pair approves an emergency revert of production. Also the backups that
// an environment may require before its apply.
#include <utility>

#include "workflow/reading.hpp"
#include "workflow/rules.hpp"

namespace datafix::workflow::rules {

using model::Approval;
using model::ApprovalKind;
using model::RequestState;

namespace {
// The hash prefix every view shows (cli short_hash); shorter ones are refused as too vague.
constexpr std::size_t kShortestRevisionPrefix = 12;
}  // namespace

std::optional<Refusal> check_pair_approver(const Context& ctx, std::string_view verb,
                                           const std::string& environment) {
    if (reading::is_driver(ctx.state, ctx.actor.id)) {
        return refusal("no-self-approval", "the driver cannot approve their own change",
                       "the pair approves (" + command(ctx, verb, environment) + ", as the pair)");
    }
    if (!reading::is_pair(ctx.state, ctx.actor.id)) {
        // A product owner never pairs: their own approval is the production step.
        if (ctx.actor.role == model::Role::product_owner) {
            return refusal("pair-approves", "only the pair of this request approves its evidence",
                           "as the product owner, approve production instead (" +
                               command(ctx, "approve-prod") + ")");
        }
        return refusal("pair-approves", "only the pair of this request approves its evidence",
                       "join as the pair first (" + command(ctx, "pair") + ")");
    }
    return std::nullopt;
}

std::optional<Refusal> check_names_current(const Context& ctx, const std::string& hash) {
    const model::Revision* revision = ctx.state.current_revision();
    if (revision == nullptr) {
        return refusal("revision-required", "no change is attached to the request yet",
                       "attach the change first (" +
                           command(ctx, "change", "--change FILE --expect ROWS") + ")");
    }
    if (hash == revision->hash) {
        return std::nullopt;
    }
    // People copy the 12-character prefix every view shows; a prefix names a revision when it
    // is long enough and only one revision of this request starts with it.
    const std::string shown = revision->hash.substr(0, kShortestRevisionPrefix);
    if (hash.size() < kShortestRevisionPrefix) {
        return refusal("revision-prefix-short",
                       "the revision hash '" + hash + "' is shorter than " +
                           std::to_string(kShortestRevisionPrefix) + " characters",
                       "give at least the " + std::to_string(kShortestRevisionPrefix) +
                           " characters shown; the current revision " +
                           std::to_string(revision->number) + " is " + shown,
                       ErrorCode::invalid_input);
    }
    std::vector<const model::Revision*> matches;
    for (const model::Revision& r : ctx.state.revisions) {
        if (r.hash.starts_with(hash)) {
            matches.push_back(&r);
        }
    }
    if (matches.size() > 1) {
        return refusal("revision-prefix-ambiguous",
                       "the revision hash '" + hash + "' is the start of " +
                           std::to_string(matches.size()) + " revisions of this request",
                       "give more of the hash; the current revision " +
                           std::to_string(revision->number) + " is " + revision->hash,
                       ErrorCode::invalid_input);
    }
    if (matches.size() == 1 && matches.front() == revision) {
        return std::nullopt;
    }
    return refusal("approval-of-current-revision",
                   "the approval names a revision hash that is not the current revision " +
                       std::to_string(revision->number),
                   "review revision " + std::to_string(revision->number) + " (" + shown +
                       ") and approve that");
}

Decision add_approval(const Context& ctx, ApprovalKind kind, const std::string& environment,
                      int revision, const std::string& revision_hash,
                      const std::string& fingerprint, const char* action) {
    RequestState next = ctx.state;
    Approval approval;
    approval.number = next.approvals.empty() ? 1 : next.approvals.back().number + 1;
    approval.kind = kind;
    approval.environment = environment;
    approval.revision = revision;
    approval.revision_hash = revision_hash;
    approval.fingerprint = fingerprint;
    approval.approved_by = ctx.actor.id;
    approval.approved_at = ctx.now;
    std::string detail =
        "approval=" + std::to_string(approval.number) + " revision=" + std::to_string(revision);
    next.approvals.push_back(std::move(approval));
    return allow(std::move(next), {event(ctx, action,
                                         {.environment = environment,
                                          .statement_hash = revision_hash,
                                          .fingerprint = fingerprint,
                                          .detail = detail})});
}

namespace {

// The pair's approval to revert what `apply` wrote in `environment`, given once.
Decision approve_revert_of(const Context& ctx, const std::string& environment,
                           const model::Run& apply) {
    if (reading::valid_approval(ctx.state, ApprovalKind::emergency_revert, environment,
                                apply.revision, apply.fingerprint) != nullptr) {
        return refuse(ctx.state, refusal("already-approved", "the revert is already approved",
                                         "the driver may revert (" +
                                             command(ctx, "revert", environment) + ")"));
    }
    return add_approval(ctx, ApprovalKind::emergency_revert, environment, apply.revision,
                        apply.revision_hash, apply.fingerprint, "revert.approved");
}

// Outside production a revert needs the pair only for data of an earlier revision while the
// request goes on (a new revision puts it back first); the hash names the revision applied there.
Decision approve_stale_revert(const Context& ctx, const ApproveEmergencyRevert& action) {
    const model::Run* apply = reading::revertable_apply(ctx.state, action.environment);
    const model::Revision* current = ctx.state.current_revision();
    if (ctx.state.request.status != model::RequestStatus::open || apply == nullptr ||
        current == nullptr || apply->revision == current->number) {
        return refuse(
            ctx.state,
            refusal("revert-approval-not-needed",
                    action.environment + " is not production: its revert needs no "
                                         "approval",
                    "the pair approves only a revert of production, or the putting "
                    "back of an earlier revision's data once a new revision is "
                    "attached (" +
                        command(ctx, "change", "--change FILE --expect ROWS --revert-first") +
                        ")"));
    }
    if (auto r = check_pair_approver(ctx, "approve-revert", action.environment)) {
        return refuse(ctx.state, *r);
    }
    const bool names_applied = action.revision_hash == apply->revision_hash ||
                               (action.revision_hash.size() >= kShortestRevisionPrefix &&
                                apply->revision_hash.starts_with(action.revision_hash));
    if (!names_applied) {
        return refuse(
            ctx.state,
            refusal("approval-of-applied-revision",
                    "the approval names a revision hash that is not revision " +
                        std::to_string(apply->revision) + ", which " + action.environment +
                        " holds",
                    "approve the revert of revision " + std::to_string(apply->revision) + " (" +
                        apply->revision_hash.substr(0, kShortestRevisionPrefix) + ")",
                    ErrorCode::invalid_input));
    }
    return approve_revert_of(ctx, action.environment, *apply);
}

}  // namespace

std::optional<Refusal> check_evidence_approval(const Context& ctx, const std::string& environment,
                                               const std::string& revision_hash) {
    if (auto r = require_environment(ctx, environment)) {
        return r;
    }
    if (auto r = require_open(ctx)) {
        return r;
    }
    if (auto r = check_pair_approver(ctx, "approve", environment)) {
        return r;
    }
    return check_names_current(ctx, revision_hash);
}

Decision approve_evidence(const Context& ctx, const ApproveEvidence& action) {
    if (auto r = check_evidence_approval(ctx, action.environment, action.revision_hash)) {
        return refuse(ctx.state, *r);
    }
    if (auto r = require_resolved(ctx, action.environment)) {
        return refuse(ctx.state, *r);
    }
    if (auto r = require_no_changes_requested(ctx)) {
        return refuse(ctx.state, *r);
    }
    const model::Revision& revision = *ctx.state.current_revision();
    const model::Run* evidence =
        reading::latest_evidence(ctx.state, action.environment, revision.number);
    if (evidence == nullptr) {
        return refuse(ctx.state,
                      refusal("evidence-required",
                              "no preview of revision " + std::to_string(revision.number) + " in " +
                                  action.environment + " to approve",
                              "the driver previews first"));
    }
    if (action.fingerprint != evidence->fingerprint) {
        return refuse(
            ctx.state,
            refusal("evidence-stale",
                    "the evidence named is not the latest preview in " + action.environment,
                    "review and approve the latest evidence (" + evidence->fingerprint + ")"));
    }
    if (reading::applied_run(ctx.state, action.environment, revision.number) != nullptr) {
        return refuse(ctx.state, refusal("environment-applied",
                                         action.environment + " is already applied", ""));
    }
    if (reading::valid_approval(ctx.state, ApprovalKind::evidence, action.environment,
                                revision.number, evidence->fingerprint) != nullptr) {
        return refuse(ctx.state, refusal("already-approved", "this evidence is already approved",
                                         "the driver may apply it"));
    }
    return add_approval(ctx, ApprovalKind::evidence, action.environment, revision.number,
                        revision.hash, evidence->fingerprint, "evidence.approved");
}

Decision approve_production(const Context& ctx, const ApproveProduction& action) {
    if (auto r = require_open(ctx)) {
        return refuse(ctx.state, *r);
    }
    if (ctx.actor.id != ctx.state.request.requested_by) {
        return refuse(ctx.state,
                      refusal("po-is-requester",
                              "only the product owner who requested the change approves prod",
                              "ask the requesting product owner", ErrorCode::forbidden));
    }
    if (reading::is_driver(ctx.state, ctx.actor.id) || reading::is_pair(ctx.state, ctx.actor.id)) {
        return refuse(
            ctx.state,
            refusal("po-is-independent",
                    "the approving product owner is neither the driver nor the pair", ""));
    }
    if (auto r = check_names_current(ctx, action.revision_hash)) {
        return refuse(ctx.state, *r);
    }
    const model::Revision& revision = *ctx.state.current_revision();
    int gated = -1;
    for (std::size_t i = 0; i < ctx.config.environments.size(); ++i) {
        if (ctx.config.environments[i].needs_product_owner_approval) {
            gated = static_cast<int>(i);
            break;
        }
    }
    if (gated < 0) {
        return refuse(ctx.state, refusal("po-approval-not-needed",
                                         "no environment needs a product owner's approval", ""));
    }
    const std::string& environment = ctx.config.environments[static_cast<std::size_t>(gated)].name;
    if (gated > 0) {
        const std::string& previous =
            ctx.config.environments[static_cast<std::size_t>(gated - 1)].name;
        if (reading::applied_run(ctx.state, previous, revision.number) == nullptr) {
            return refuse(ctx.state,
                          refusal("po-after-previous-apply",
                                  "revision " + std::to_string(revision.number) +
                                      " is not applied in " + previous + " yet",
                                  "verify it in " + previous + " after the apply, then approve"));
        }
    }
    if (auto r = require_no_changes_requested(ctx)) {
        return refuse(ctx.state, *r);
    }
    if (reading::product_owner_approved(ctx.state, revision.number)) {
        return refuse(
            ctx.state,
            refusal("already-approved",
                    "you already approved revision " + std::to_string(revision.number), ""));
    }
    return add_approval(ctx, ApprovalKind::product_owner, environment, revision.number,
                        revision.hash, "", "production.approved");
}

Decision approve_emergency_revert(const Context& ctx, const ApproveEmergencyRevert& action) {
    if (auto r = require_environment(ctx, action.environment)) {
        return refuse(ctx.state, *r);
    }
    if (!ctx.config.find(action.environment)->production) {
        return approve_stale_revert(ctx, action);
    }
    if (ctx.state.request.status != model::RequestStatus::done) {
        return refuse(ctx.state,
                      refusal("revert-after-done",
                              "reverting " + action.environment + " is for a done request", ""));
    }
    if (auto r = check_pair_approver(ctx, "approve-revert", action.environment)) {
        return refuse(ctx.state, *r);
    }
    if (auto r = check_names_current(ctx, action.revision_hash)) {
        return refuse(ctx.state, *r);
    }
    const model::Run* apply = reading::revertable_apply(ctx.state, action.environment);
    if (apply == nullptr) {
        return refuse(ctx.state,
                      refusal("nothing-to-revert",
                              "nothing applied in " + action.environment + " to revert", ""));
    }
    return approve_revert_of(ctx, action.environment, *apply);
}

Decision record_backup(const Context& ctx, const RecordBackup& action) {
    if (auto r = require_environment(ctx, action.environment)) {
        return refuse(ctx.state, *r);
    }
    if (auto r = require_open(ctx)) {
        return refuse(ctx.state, *r);
    }
    if (auto r = require_driver(ctx)) {
        return refuse(ctx.state, *r);
    }
    const model::Revision* revision = ctx.state.current_revision();
    if (revision == nullptr) {
        return refuse(ctx.state,
                      refusal("revision-required", "no change is attached to the request yet",
                              "attach the change first (" +
                                  command(ctx, "change", "--change FILE --expect ROWS") + ")"));
    }
    RequestState next = ctx.state;
    model::Backup backup;
    backup.number = next.backups.empty() ? 1 : next.backups.back().number + 1;
    backup.environment = action.environment;
    backup.revision = revision->number;
    backup.verified = action.verified;
    backup.taken_at = action.taken_at;
    backup.size_bytes = action.size_bytes;
    backup.sha256 = action.sha256;
    backup.location = action.location;
    backup.recorded_by = ctx.actor.id;
    std::string detail = "backup=" + std::to_string(backup.number) +
                         " verified=" + (action.verified ? "true" : "false") +
                         " size=" + std::to_string(action.size_bytes) + " sha256=" + action.sha256;
    next.backups.push_back(std::move(backup));
    renew_lease(next, ctx);
    return allow(std::move(next), {event(ctx, "backup.recorded",
                                         {.environment = action.environment,
                                          .statement_hash = revision->hash,
                                          .detail = detail})});
}

}  // namespace datafix::workflow::rules
