// Who works on a request: the exclusive claim (driver, lease, release, hand-over), the pair,
// and cancelling.
#include <utility>

#include "workflow/reading.hpp"
#include "workflow/rules.hpp"

namespace datafix::workflow::rules {

using model::Role;

namespace {
std::string lease_detail(const Context& ctx) {
    return "lease_ms=" + std::to_string(ctx.config.lease.count());
}

std::optional<Refusal> require_developer(const Context& ctx, const char* what) {
    if (ctx.actor.role != Role::developer) {
        return refusal("developer-only", std::string("only a developer may ") + what,
                       "ask a developer of the team", ErrorCode::forbidden);
    }
    return std::nullopt;
}
}  // namespace

Decision claim(const Context& ctx, const ClaimRequest&) {
    if (auto r = require_developer(ctx, "claim a request")) {
        return refuse(ctx.state, *r);
    }
    if (reading::is_pair(ctx.state, ctx.actor.id)) {
        return refuse(ctx.state,
                      refusal("driver-is-not-pair", "you are the pair of this request",
                              "leave the pair first (" + command(ctx, "pair", "--leave") +
                                  ") if you want to drive"));
    }
    // Only an open request is claimed: a finished or cancelled one keeps only its reverts, which
    // its last driver does without a lease (nobody can take the claim from them any more), and
    // a newcomer's claim would hand them its production images.
    if (ctx.state.request.status != model::RequestStatus::open) {
        const bool drives = reading::is_driver(ctx.state, ctx.actor.id);
        return refuse(ctx.state,
                      refusal("request-closed",
                              "request " + std::to_string(ctx.state.request.number) + " is " +
                                  std::string(model::status_name(ctx.state.request.status)) +
                                  "; only open requests can be claimed",
                              drives ? "you still drive it: revert directly (" +
                                           command(ctx, "revert", "ENVIRONMENT") + ")"
                                     : "file a new request for a further change"));
    }
    const bool held = reading::lease_active(ctx.state, ctx.now);
    if (held && !reading::is_driver(ctx.state, ctx.actor.id)) {
        return refuse(ctx.state,
                      refusal("claim-taken", "the request is already claimed by another developer",
                              "ask the driver to hand it over (" +
                                  command(ctx, "handover", "--to " + ctx.actor.email) +
                                  "), or wait until the lease ends"));
    }
    model::RequestState next = ctx.state;
    if (held) {
        renew_lease(next, ctx);
        return allow(std::move(next), {event(ctx, "claim.renewed", {.detail = lease_detail(ctx)})});
    }
    std::string detail = lease_detail(ctx);
    if (ctx.state.claim.has_value() && ctx.state.claim->driver != ctx.actor.id) {
        detail += " previous_driver=" + std::to_string(ctx.state.claim->driver);
    }
    next.claim = model::Claim{ctx.actor.id, ctx.now, ctx.now + ctx.config.lease};
    return allow(std::move(next), {event(ctx, "claim.taken", {.detail = detail})});
}

Decision release(const Context& ctx, const ReleaseClaim&) {
    if (!ctx.state.claim.has_value()) {
        return refuse(ctx.state,
                      refusal("not-claimed", "the request is not claimed", "nothing to release"));
    }
    const bool admin = ctx.actor.role == Role::admin;
    if (!reading::is_driver(ctx.state, ctx.actor.id) && !admin) {
        return refuse(ctx.state, refusal("driver-only", "only the driver may release the claim",
                                         "ask the driver, or an admin"));
    }
    if (auto r = require_idle(ctx)) {
        return refuse(ctx.state, *r);
    }
    if (const model::Run* run = reading::any_in_doubt_run(ctx.state)) {
        return refuse(ctx.state, *require_resolved(ctx, run->environment));
    }
    model::RequestState next = ctx.state;
    std::string detail = "driver=" + std::to_string(ctx.state.claim->driver);
    next.claim.reset();
    return allow(std::move(next), {event(ctx, "claim.released", {.detail = detail})});
}

Decision hand_over(const Context& ctx, const HandOver& action) {
    // Like a claim: nobody new takes a closed request (its images stay with who drove it).
    if (auto r = require_open(ctx)) {
        return refuse(ctx.state, *r);
    }
    const bool admin = ctx.actor.role == Role::admin;
    if (!admin) {
        if (auto r = require_driver(ctx)) {
            return refuse(ctx.state, *r);
        }
    }
    const model::Person& to = action.to;
    if (reading::is_driver(ctx.state, to.id) || to.id == ctx.actor.id) {
        return refuse(ctx.state, refusal("hand-over-to-self", "that person already drives",
                                         "hand over to another developer"));
    }
    if (to.role != Role::developer || !to.active) {
        return refuse(ctx.state, refusal("hand-over-to-developer",
                                         "the claim can only go to an active developer",
                                         "choose an active developer (datafix users list)"));
    }
    if (reading::is_pair(ctx.state, to.id)) {
        return refuse(ctx.state, refusal("driver-is-not-pair",
                                         "the pair cannot become the driver of the same request",
                                         "hand over to a developer who is not the pair"));
    }
    if (auto r = require_idle(ctx)) {
        return refuse(ctx.state, *r);
    }
    model::RequestState next = ctx.state;
    next.claim = model::Claim{to.id, ctx.now, ctx.now + ctx.config.lease};
    return allow(std::move(next),
                 {event(ctx, "claim.handed_over",
                        {.detail = "to=" + std::to_string(to.id) + " " + lease_detail(ctx)})});
}

Decision join_pair(const Context& ctx, const JoinPair&) {
    if (ctx.actor.id == ctx.state.request.requested_by) {
        return refuse(ctx.state,
                      refusal("pair-is-not-requester",
                              "the product owner who requested the change cannot be its pair",
                              "ask a second developer to pair"));
    }
    if (auto r = require_developer(ctx, "pair on a request")) {
        return refuse(ctx.state, *r);
    }
    if (reading::is_driver(ctx.state, ctx.actor.id)) {
        return refuse(ctx.state, refusal("pair-is-not-driver", "the driver cannot also be the pair",
                                         "ask a second developer to pair"));
    }
    if (reading::is_pair(ctx.state, ctx.actor.id)) {
        return refuse(ctx.state,
                      refusal("already-pair", "you are already the pair of this request", ""));
    }
    if (ctx.state.pair.has_value()) {
        return refuse(ctx.state, refusal("pair-taken", "the request already has a pair",
                                         "the current pair must leave first (" +
                                             command(ctx, "pair", "--leave") + ")"));
    }
    if (ctx.state.request.status == model::RequestStatus::cancelled) {
        return refuse(ctx.state, *require_open(ctx));
    }
    model::RequestState next = ctx.state;
    next.pair = model::Pair{ctx.actor.id, ctx.now};
    return allow(std::move(next), {event(ctx, "pair.joined")});
}

Decision leave_pair(const Context& ctx, const LeavePair&) {
    if (!reading::is_pair(ctx.state, ctx.actor.id)) {
        return refuse(ctx.state, refusal("pair-only", "you are not the pair of this request", ""));
    }
    model::RequestState next = ctx.state;
    next.pair.reset();
    int voided = 0;
    for (model::Approval& approval : next.approvals) {
        // Approvals given by the person leaving stop counting: the next pair approves afresh.
        if (!approval.voided && approval.approved_by == ctx.actor.id &&
            approval.kind != model::ApprovalKind::product_owner) {
            approval.voided = true;
            ++voided;
        }
    }
    return allow(std::move(next),
                 {event(ctx, "pair.left", {.detail = "voided=" + std::to_string(voided)})});
}

Decision cancel(const Context& ctx, const CancelRequest&) {
    if (ctx.state.request.status == model::RequestStatus::done) {
        return refuse(ctx.state,
                      refusal("cancel-after-prod", "the request is done: prod is applied",
                              "revert instead (" + command(ctx, "revert", "ENVIRONMENT") +
                                  "), or file a new request"));
    }
    if (auto r = require_open(ctx)) {
        return refuse(ctx.state, *r);
    }
    const bool allowed = ctx.actor.role == Role::admin ||
                         ctx.actor.id == ctx.state.request.requested_by ||
                         reading::is_driver(ctx.state, ctx.actor.id);
    if (!allowed) {
        return refuse(ctx.state,
                      refusal("cancel-by-owner",
                              "only the driver, the requesting product owner or an admin may "
                              "cancel",
                              "ask one of them", ErrorCode::forbidden));
    }
    if (auto r = require_idle(ctx)) {
        return refuse(ctx.state, *r);
    }
    if (const model::Run* run = reading::any_in_doubt_run(ctx.state)) {
        return refuse(ctx.state, *require_resolved(ctx, run->environment));
    }
    model::RequestState next = ctx.state;
    next.request.status = model::RequestStatus::cancelled;
    // What was approved led to steps that no longer come; the reverts left need none outside
    // production.
    int voided = 0;
    for (model::Approval& approval : next.approvals) {
        if (!approval.voided) {
            approval.voided = true;
            ++voided;
        }
    }
    return allow(std::move(next),
                 {event(ctx, "request.cancelled",
                        {.detail = "voided_approvals=" + std::to_string(voided)})});
}

}  // namespace datafix::workflow::rules
