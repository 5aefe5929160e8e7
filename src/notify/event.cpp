// Event names: stable, used in configuration and in the outbox.
#include "notify/event.hpp"

#include <array>
#include <utility>

namespace datafix::notify {

namespace {

constexpr std::array<std::pair<EventKind, std::string_view>, 15> kNames = {{
    {EventKind::request_created, "request-created"},
    {EventKind::claimed, "claimed"},
    {EventKind::pair_wanted, "pair-wanted"},
    {EventKind::test_applied, "test-applied"},
    {EventKind::prod_applied, "prod-applied"},
    {EventKind::failed, "failed"},
    {EventKind::in_doubt, "in-doubt"},
    {EventKind::test_reverted, "test-reverted"},
    {EventKind::token_rotated, "token-rotated"},
    {EventKind::account_created, "account-created"},
    {EventKind::evidence_to_approve, "evidence-to-approve"},
    {EventKind::revert_to_approve, "revert-to-approve"},
    {EventKind::cancelled, "cancelled"},
    {EventKind::commented, "commented"},
    {EventKind::changes_requested, "changes-requested"},
}};

}  // namespace

std::string_view event_name(EventKind kind) {
    for (const auto& [k, name] : kNames) {
        if (k == kind) {
            return name;
        }
    }
    return "unknown";
}

std::optional<EventKind> parse_event(std::string_view name) {
    for (const auto& [k, n] : kNames) {
        if (n == name) {
            return k;
        }
    }
    return std::nullopt;
}

}  // namespace datafix::notify
