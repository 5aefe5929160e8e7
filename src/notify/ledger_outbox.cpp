// The ledger-backed outbox: maps notify's rows to the ledger's plain ones (the event by its
// stable name) and leaves storage, locking and leasing to the ledger.
#include "notify/ledger_outbox.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace datafix::notify {

namespace {

// A row whose event this binary does not know was queued by a newer datafix sharing the ledger:
// it is left to that server, and listed by it rather than by this one.
std::optional<Notification> from_row(const ledger::NotificationRow& row) {
    auto event = parse_event(row.content.event);
    if (!event) {
        return std::nullopt;
    }
    Notification n;
    n.id = row.id;
    n.created_at = row.created_at;
    n.content = NewNotification{*event, row.content.request, row.content.channel,
                                row.content.recipient, row.content.payload};
    n.attempts = row.attempts;
    n.next_attempt_at = row.next_attempt_at;
    n.delivered_at = row.delivered_at;
    n.last_error = row.last_error;
    n.audit_head = row.audit_head;
    return n;
}

}  // namespace

std::chrono::milliseconds delivery_lease(const NotifyConfig& config, int limit) {
    auto slowest = std::chrono::milliseconds::zero();
    for (const auto& channel : config.channels) {
        slowest = std::max(slowest, channel.timeout);
    }
    // Email attempts may spend the timeout connecting and again transferring (both are set).
    return std::max(limit, 1) * 2 * slowest + std::chrono::minutes{1};
}

LedgerOutbox::LedgerOutbox(ledger::Ledger& ledger, std::chrono::milliseconds lease,
                           std::optional<OutboxOwner> owner)
    : ledger_(ledger), lease_(lease), owner_(std::move(owner)) {
    if (lease_ <= std::chrono::milliseconds::zero()) {
        throw Error(ErrorCode::internal, "the outbox lease must be longer than zero");
    }
    if (owner_ && owner_->heartbeat_lease <= std::chrono::milliseconds::zero()) {
        throw Error(ErrorCode::internal,
                    "the outbox owner's heartbeat lease must be longer than zero");
    }
}

int LedgerOutbox::reclaim(model::Time now) {
    if (!owner_) {
        return 0;
    }
    return ledger_.reclaim_notifications(owner_->instance, owner_->incarnation, now);
}

std::int64_t LedgerOutbox::enqueue(const NewNotification& notification, model::Time now) {
    return ledger_.enqueue_notification(
        ledger::NewNotificationRow{std::string(event_name(notification.event)),
                                   notification.request, notification.channel,
                                   notification.recipient, notification.payload},
        now);
}

std::vector<Notification> LedgerOutbox::due(model::Time now, int limit) {
    std::vector<Notification> out;
    std::optional<ledger::NotificationClaim> claim;
    if (owner_) {
        claim = ledger::NotificationClaim{owner_->instance, owner_->incarnation,
                                          now + owner_->heartbeat_lease};
    }
    for (const auto& row : ledger_.claim_due_notifications(now, limit, lease_, claim)) {
        if (auto n = from_row(row)) {
            out.push_back(std::move(*n));
        }
        // An unknown event stays claimed, with no attempt counted: when the lease ends (or this
        // server is gone), the newer server can claim and deliver it.
    }
    return out;
}

bool LedgerOutbox::still_claimed(std::int64_t id) {
    if (!owner_) {
        return true;  // an anonymous claim cannot be reclaimed before its lease ends
    }
    return ledger_.holds_notification_claim(id, owner_->incarnation);
}

void LedgerOutbox::mark_delivered(std::int64_t id, model::Time now) {
    ledger_.mark_notification_delivered(id, now);
}

void LedgerOutbox::mark_failed(std::int64_t id, const std::string& error,
                               model::Time next_attempt) {
    ledger_.mark_notification_failed(id, error, next_attempt);
}

std::vector<Notification> LedgerOutbox::undelivered(std::optional<model::RequestNumber> request) {
    std::vector<Notification> out;
    for (const auto& row : ledger_.undelivered_notifications(request)) {
        if (auto n = from_row(row)) {
            out.push_back(std::move(*n));
        }
    }
    return out;
}

}  // namespace datafix::notify
