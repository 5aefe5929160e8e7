// The notifications outbox as the ledger stores it: plain rows, one per channel and recipient.
// The notify layer (above the ledger) renders the payload and maps these rows to its own
// Notification type; the ledger only keeps, leases and reports them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "ledger/model_types.hpp"
#include "model/request_state.hpp"
#include "model/time.hpp"

namespace datafix::ledger {

using NotificationId = std::int64_t;

struct NewNotificationRow {
    std::string event;  // the notify layer's stable event name, e.g. "prod_applied"
    std::optional<RequestNumber> request;
    std::string channel;    // a configured channel name
    std::string recipient;  // an email address; empty for a chat channel
    // The rendered message. Stored as it comes, not sealed: only a literal-free summary
    // (normalized statements, counts, hashes) ever reaches the outbox.
    std::string payload;

    bool operator==(const NewNotificationRow&) const = default;
};

// Who holds a claimed row: a server instance (stable across its restarts), that server's process
// (its incarnation, new at every start), and until when it vouched for the claim (its heartbeat
// renews that with its run leases). A claim whose owner is gone is reclaimed at once.
struct NotificationClaim {
    std::string owner;
    std::string incarnation;
    Time expires_at{};

    bool operator==(const NotificationClaim&) const = default;
};

struct NotificationRow {
    NotificationId id = 0;
    Time created_at{};
    NewNotificationRow content;
    int attempts = 0;
    // When the row is next due; while a dispatcher holds it, the end of that lease.
    Time next_attempt_at{};
    std::optional<Time> delivered_at;
    std::string last_error;  // empty: no failed attempt yet (or delivered since)
    // "SEQ:MAC" of the audit chain when the row was queued; the delivered message carries it,
    // so the head is published outside the ledger (`datafix audit verify --head`).
    std::string audit_head;
    // While a dispatcher holds the row (claimed and not yet marked): whose it is.
    std::optional<NotificationClaim> claim;

    bool operator==(const NotificationRow&) const = default;
};

}  // namespace datafix::ledger
