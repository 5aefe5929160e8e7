// decide(): the one entry to the rules. Checks that apply to every action (an active person)
// come first; then each action has its own rule function.
#include "workflow/decide.hpp"

#include <chrono>
#include <type_traits>

#include "workflow/rules.hpp"

namespace datafix::workflow {

Decision decide(const model::RequestState& state, const Action& action, const Actor& actor,
                model::Time now, const WorkflowConfig& config) {
    if (!actor.active) {
        return refuse(state, rules::refusal("person-inactive", "this account is deactivated",
                                            "ask an admin", ErrorCode::unauthenticated));
    }
    const rules::Context ctx{state, actor, now, config};
    Decision decision = std::visit(
        [&ctx](const auto& a) -> Decision {
            using T = std::decay_t<decltype(a)>;
            if constexpr (std::is_same_v<T, ClaimRequest>) {
                return rules::claim(ctx, a);
            } else if constexpr (std::is_same_v<T, ReleaseClaim>) {
                return rules::release(ctx, a);
            } else if constexpr (std::is_same_v<T, HandOver>) {
                return rules::hand_over(ctx, a);
            } else if constexpr (std::is_same_v<T, JoinPair>) {
                return rules::join_pair(ctx, a);
            } else if constexpr (std::is_same_v<T, LeavePair>) {
                return rules::leave_pair(ctx, a);
            } else if constexpr (std::is_same_v<T, AttachRevision>) {
                return rules::attach_revision(ctx, a);
            } else if constexpr (std::is_same_v<T, StartPreview>) {
                return rules::start_preview(ctx, a);
            } else if constexpr (std::is_same_v<T, StartApply>) {
                return rules::start_apply(ctx, a);
            } else if constexpr (std::is_same_v<T, StartRevert>) {
                return rules::start_revert(ctx, a);
            } else if constexpr (std::is_same_v<T, RecordInFlight>) {
                return rules::record_in_flight(ctx, a);
            } else if constexpr (std::is_same_v<T, FinishRun>) {
                return rules::finish_run(ctx, a);
            } else if constexpr (std::is_same_v<T, ResolveInDoubt>) {
                return rules::resolve_in_doubt(ctx, a);
            } else if constexpr (std::is_same_v<T, ApproveEvidence>) {
                return rules::approve_evidence(ctx, a);
            } else if constexpr (std::is_same_v<T, ApproveProduction>) {
                return rules::approve_production(ctx, a);
            } else if constexpr (std::is_same_v<T, ApproveEmergencyRevert>) {
                return rules::approve_emergency_revert(ctx, a);
            } else if constexpr (std::is_same_v<T, RecordBackup>) {
                return rules::record_backup(ctx, a);
            } else if constexpr (std::is_same_v<T, AddComment>) {
                return rules::add_comment(ctx, a);
            } else if constexpr (std::is_same_v<T, RequestChanges>) {
                return rules::request_changes(ctx, a);
            } else if constexpr (std::is_same_v<T, StartLive>) {
                return rules::start_live(ctx, a);
            } else if constexpr (std::is_same_v<T, RecordLiveEvidence>) {
                return rules::record_live_evidence(ctx, a);
            } else if constexpr (std::is_same_v<T, ApproveLive>) {
                return rules::approve_live(ctx, a);
            } else if constexpr (std::is_same_v<T, EndLive>) {
                return rules::end_live(ctx, a);
            } else {
                static_assert(std::is_same_v<T, CancelRequest>);
                return rules::cancel(ctx, a);
            }
        },
        action);
    // After the step's own rules, so their refusals (the current driver approving, say) keep
    // their names; four eyes by history then has the last word.
    if (decision.allowed()) {
        if (auto r = rules::check_four_eyes(state, action, actor, config)) {
            return refuse(state, *r);
        }
        rules::record_participants(decision.state, action, actor, config);
    }
    return decision;
}

bool is_iso_date(std::string_view text) {
    if (text.size() != 10 || text[4] != '-' || text[7] != '-') {
        return false;
    }
    int parts[3] = {0, 0, 0};
    const std::size_t starts[3] = {0, 5, 8};
    const std::size_t lengths[3] = {4, 2, 2};
    for (int p = 0; p < 3; ++p) {
        for (std::size_t i = starts[p]; i < starts[p] + lengths[p]; ++i) {
            if (text[i] < '0' || text[i] > '9') {
                return false;
            }
            parts[p] = parts[p] * 10 + (text[i] - '0');
        }
    }
    const std::chrono::year_month_day date{std::chrono::year{parts[0]},
                                           std::chrono::month{static_cast<unsigned>(parts[1])},
                                           std::chrono::day{static_cast<unsigned>(parts[2])}};
    return date.ok();
}

std::optional<Refusal> check_new_request(const NewRequest& request, const Actor& actor,
                                         const model::Person* requester) {
    if (!actor.active) {
        return rules::refusal("person-inactive", "this account is deactivated", "ask an admin",
                              ErrorCode::unauthenticated);
    }
    if (request.title.empty() || request.reason.empty()) {
        return rules::refusal("request-fields", "a request needs a title and a reason",
                              "say what should change and why", ErrorCode::invalid_input);
    }
    if (!request.requested_date.empty() && !is_iso_date(request.requested_date)) {
        return rules::refusal(
            "requested-date",
            "the requested date '" + request.requested_date + "' is not a date written YYYY-MM-DD",
            "give it as year-month-day, e.g. --date 2026-12-15", ErrorCode::invalid_input);
    }
    if (actor.role == model::Role::product_owner && request.requested_by != 0 &&
        request.requested_by != actor.id) {
        return rules::refusal("requester-is-self",
                              "a product owner files requests in their own name", "",
                              ErrorCode::forbidden);
    }
    if (actor.role != model::Role::product_owner && request.requested_by == 0) {
        return rules::refusal(
            "requester-is-product-owner", "name the product owner who asked for the change",
            "name them with --for (a product owner's email)", ErrorCode::invalid_input);
    }
    const bool named_po = actor.role == model::Role::product_owner ||
                          (requester != nullptr && requester->role == model::Role::product_owner &&
                           requester->active);
    if (!named_po) {
        return rules::refusal("requester-is-product-owner",
                              "the requester of a change must be an active product owner",
                              "name an active product owner");
    }
    return std::nullopt;
}

std::optional<Refusal> check_manage_users(const Actor& actor) {
    if (!actor.active || actor.role != model::Role::admin) {
        return rules::refusal("admin-only", "only an admin manages people", "ask an admin",
                              ErrorCode::forbidden);
    }
    return std::nullopt;
}

}  // namespace datafix::workflow
