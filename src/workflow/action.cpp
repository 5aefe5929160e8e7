// Stable names of the workflow's actions, for logs, the API and refusals.
#include "workflow/action.hpp"

#include <type_traits>

namespace datafix::workflow {

namespace {
template <class T>
constexpr std::string_view name_of() {
    if constexpr (std::is_same_v<T, ClaimRequest>) {
        return "claim";
    } else if constexpr (std::is_same_v<T, ReleaseClaim>) {
        return "release";
    } else if constexpr (std::is_same_v<T, HandOver>) {
        return "hand-over";
    } else if constexpr (std::is_same_v<T, JoinPair>) {
        return "pair";
    } else if constexpr (std::is_same_v<T, LeavePair>) {
        return "unpair";
    } else if constexpr (std::is_same_v<T, AttachRevision>) {
        return "change";
    } else if constexpr (std::is_same_v<T, StartPreview>) {
        return "preview";
    } else if constexpr (std::is_same_v<T, StartApply>) {
        return "apply";
    } else if constexpr (std::is_same_v<T, StartRevert>) {
        return "revert";
    } else if constexpr (std::is_same_v<T, RecordInFlight>) {
        return "in-flight";
    } else if constexpr (std::is_same_v<T, FinishRun>) {
        return "finish-run";
    } else if constexpr (std::is_same_v<T, ResolveInDoubt>) {
        return "resolve";
    } else if constexpr (std::is_same_v<T, ApproveEvidence>) {
        return "approve";
    } else if constexpr (std::is_same_v<T, ApproveProduction>) {
        return "approve-prod";
    } else if constexpr (std::is_same_v<T, ApproveEmergencyRevert>) {
        return "approve-revert";
    } else if constexpr (std::is_same_v<T, RecordBackup>) {
        return "backup";
    } else if constexpr (std::is_same_v<T, AddComment>) {
        return "comment";
    } else if constexpr (std::is_same_v<T, RequestChanges>) {
        return "request-changes";
    } else if constexpr (std::is_same_v<T, StartLive>) {
        return "live";
    } else if constexpr (std::is_same_v<T, RecordLiveEvidence>) {
        return "live-evidence";
    } else if constexpr (std::is_same_v<T, ApproveLive>) {
        return "approve-live";
    } else if constexpr (std::is_same_v<T, EndLive>) {
        return "end-live";
    } else {
        static_assert(std::is_same_v<T, CancelRequest>);
        return "cancel";
    }
}
}  // namespace

std::string_view action_name(const Action& action) {
    return std::visit([](const auto& a) { return name_of<std::decay_t<decltype(a)>>(); }, action);
}

}  // namespace datafix::workflow
