// Stable names of the model's enumerations: stored in the ledger and shown in the API, so they
// never change once released.
#include <array>
#include <utility>

#include "model/enum_names.hpp"

#include "model/person.hpp"
#include "model/request_state.hpp"

namespace datafix::model {

namespace {

constexpr std::array<std::pair<Role, std::string_view>, 4> kRoles{{
    {Role::developer, "developer"},
    {Role::product_owner, "product_owner"},
    {Role::admin, "admin"},
    {Role::none, "none"},
}};
constexpr std::array<std::pair<TokenScope, std::string_view>, 2> kScopes{{
    {TokenScope::full, "full"},
    {TokenScope::read, "read"},
}};
constexpr std::array<std::pair<RequestStatus, std::string_view>, 3> kStatuses{{
    {RequestStatus::open, "open"},
    {RequestStatus::done, "done"},
    {RequestStatus::cancelled, "cancelled"},
}};
constexpr std::array<std::pair<RunKind, std::string_view>, 4> kRunKinds{{
    {RunKind::preview, "preview"},
    {RunKind::apply, "apply"},
    {RunKind::revert, "revert"},
    {RunKind::live, "live"},
}};
constexpr std::array<std::pair<RunState, std::string_view>, 5> kRunStates{{
    {RunState::running, "running"},
    {RunState::succeeded, "succeeded"},
    {RunState::failed, "failed"},
    {RunState::in_doubt, "in_doubt"},
    {RunState::rolled_back, "rolled_back"},
}};
constexpr std::array<std::pair<ApprovalKind, std::string_view>, 3> kApprovalKinds{{
    {ApprovalKind::evidence, "evidence"},
    {ApprovalKind::product_owner, "product_owner"},
    {ApprovalKind::emergency_revert, "emergency_revert"},
}};
constexpr std::array<std::pair<CommentKind, std::string_view>, 2> kCommentKinds{{
    {CommentKind::comment, "comment"},
    {CommentKind::changes_requested, "changes_requested"},
}};
}  // namespace

std::string_view token_scope_name(TokenScope scope) {
    return name_in(kScopes, scope);
}
std::optional<TokenScope> parse_token_scope(std::string_view name) {
    return parse_in(kScopes, name);
}

std::string_view role_name(Role role) {
    return name_in(kRoles, role);
}
std::optional<Role> parse_role(std::string_view name) {
    return parse_in(kRoles, name);
}
std::string_view status_name(RequestStatus status) {
    return name_in(kStatuses, status);
}
std::optional<RequestStatus> parse_status(std::string_view name) {
    return parse_in(kStatuses, name);
}
std::string_view run_kind_name(RunKind kind) {
    return name_in(kRunKinds, kind);
}
std::optional<RunKind> parse_run_kind(std::string_view name) {
    return parse_in(kRunKinds, name);
}
std::string_view run_state_name(RunState state) {
    return name_in(kRunStates, state);
}
std::optional<RunState> parse_run_state(std::string_view name) {
    return parse_in(kRunStates, name);
}
std::string_view approval_kind_name(ApprovalKind kind) {
    return name_in(kApprovalKinds, kind);
}
std::optional<ApprovalKind> parse_approval_kind(std::string_view name) {
    return parse_in(kApprovalKinds, name);
}
std::string_view comment_kind_name(CommentKind kind) {
    return name_in(kCommentKinds, kind);
}
std::optional<CommentKind> parse_comment_kind(std::string_view name) {
    return parse_in(kCommentKinds, name);
}

}  // namespace datafix::model
