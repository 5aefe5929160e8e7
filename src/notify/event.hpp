// The moments of the runbook when people are told something: a new request needs a driver, the
// product owner learns who drives, a pair is wanted, evidence or a revert waits for the pair, test
// is ready to verify, prod is done, and the unhappy ones (failed, in doubt, test reverted,
// cancelled).
#pragma once

#include <optional>
#include <string_view>

namespace datafix::notify {

enum class EventKind {
    request_created,
    claimed,
    pair_wanted,
    test_applied,
    prod_applied,
    failed,
    in_doubt,
    test_reverted,
    token_rotated,    // an admin replaced a person's token: told to that person (account_notice)
    account_created,  // an admin created an account a second admin must confirm: told to admins
    evidence_to_approve,  // a preview's evidence waits for the pair's approval
    revert_to_approve,    // a new revision waits for the pair to approve putting back older data
    cancelled,            // the request was cancelled: everyone on it is told
    commented,            // someone wrote in the request's conversation (only that they did)
    changes_requested,    // the pair or the product owner sent the request back to its driver
};

// Stable names, used in the configuration ([notify.routes] keys) and stored in the outbox.
std::string_view event_name(EventKind kind);
std::optional<EventKind> parse_event(std::string_view name);

}  // namespace datafix::notify
