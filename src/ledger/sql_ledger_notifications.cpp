// The notifications outbox in the SQL ledger. Nothing here is sealed: payloads are literal-free
// by construction (notify's ChangeSummary holds only normalized statements, counts and hashes),
// and last_error is a transport's or peer's words about the delivery, not data of a change.
//
// Claiming is what lets several servers share one PostgreSQL ledger without sending a message
// twice: the due rows are selected FOR UPDATE SKIP LOCKED (a concurrent claimer skips them
// instead of waiting) and leased in the same statement by moving next_attempt_at past `now`, so
// once committed they are no longer due for anyone. SQLite gets the same statement inside
// BEGIN IMMEDIATE, which serializes claimers on the file's write lock.
//
// A claim also names its owner (server instance, incarnation, and until when that owner vouched
// for it; the run-lease heartbeat renews it). The delivery lease in next_attempt_at is then only
// the last resort for an owner that lives but is stuck: a row whose owner is gone is made due
// again by reclaim_notifications as soon as a server looks.
#include <algorithm>
#include <iterator>
#include <string>

#include "core/error.hpp"
#include "ledger/sql_ledger.hpp"

namespace datafix::ledger {

namespace {

constexpr std::string_view kNotificationColumns =
    "id, created_at, event, request, channel, recipient, payload, attempts, next_attempt_at, "
    "delivered_at, last_error, audit_head, claimed_by, claimed_incarnation, claim_expires_at";

NotificationRow notification_from(const SqlRow& r) {
    NotificationRow row;
    row.id = r.integer(0);
    row.created_at = from_millis(r.integer(1));
    row.content.event = r.text(2);
    row.content.request = r.optional_integer(3);
    row.content.channel = r.text(4);
    row.content.recipient = r.text(5);
    row.content.payload = r.text(6);
    row.attempts = static_cast<int>(r.integer(7));
    row.next_attempt_at = from_millis(r.integer(8));
    if (auto delivered = r.optional_integer(9)) {
        row.delivered_at = from_millis(*delivered);
    }
    row.last_error = r.text(10);
    row.audit_head = r.text(11);
    if (!r.is_null(12)) {
        row.claim = NotificationClaim{r.text(12), r.text(13), from_millis(r.integer(14))};
    }
    return row;
}

}  // namespace

NotificationId SqlLedger::insert_notification_in(SqlSession& session, const NewNotificationRow& row,
                                                 Time now) {
    // The head as of this transaction (the step's own entries included): published with the
    // message, outside the ledger.
    auto head = session.query("SELECT seq, hash FROM audit_head WHERE id = 1", {});
    std::string audit_head;
    if (!head.empty() && head.front().integer(0) > 0) {
        audit_head = std::to_string(head.front().integer(0)) + ":" + head.front().text(1);
    }
    auto rows = session.query(
        "INSERT INTO notifications (created_at, event, request, channel, recipient, payload, "
        "attempts, next_attempt_at, audit_head) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?) RETURNING id",
        {SqlValue::of(to_millis(now)), SqlValue::of(row.event), SqlValue::of(row.request),
         SqlValue::of(row.channel), SqlValue::of(row.recipient), SqlValue::of(row.payload),
         SqlValue::of(to_millis(now)), SqlValue::of(audit_head)});
    return rows.at(0).integer(0);
}

NotificationId SqlLedger::enqueue_notification(const NewNotificationRow& row, Time now) {
    auto session = pool_.acquire();
    SqlTransaction tx(*session, SqlTransaction::Mode::write);
    auto id = insert_notification_in(*session, row, now);
    tx.commit();
    return id;
}

std::vector<NotificationRow> SqlLedger::claim_due_notifications(
    Time now, int limit, std::chrono::milliseconds lease,
    const std::optional<NotificationClaim>& owner) {
    if (limit <= 0) {
        return {};
    }
    if (lease <= std::chrono::milliseconds::zero()) {
        // A row leased until `now` would still be due: another dispatcher could take it too.
        throw Error(ErrorCode::internal, "a notification lease must be longer than zero");
    }
    auto session = pool_.acquire();
    const bool postgresql = session->dialect() == Dialect::postgresql;
    SqlTransaction tx(*session, SqlTransaction::Mode::write);
    auto rows = session->query(
        std::string("UPDATE notifications SET next_attempt_at = ?, claimed_by = ?, "
                    "claimed_incarnation = ?, claim_expires_at = ? WHERE id IN (SELECT id FROM "
                    "notifications WHERE delivered_at IS NULL AND next_attempt_at <= ? ORDER BY "
                    "next_attempt_at, id LIMIT ?") +
            (postgresql ? " FOR UPDATE SKIP LOCKED" : "") + ") RETURNING " +
            std::string(kNotificationColumns),
        {SqlValue::of(to_millis(now + lease)),
         owner ? SqlValue::of(owner->owner) : SqlValue::null(),
         owner ? SqlValue::of(owner->incarnation) : SqlValue::null(),
         owner ? SqlValue::of(to_millis(owner->expires_at)) : SqlValue::null(),
         SqlValue::of(to_millis(now)), SqlValue::of(std::int64_t{limit})});
    tx.commit();
    std::vector<NotificationRow> claimed;
    claimed.reserve(rows.size());
    std::transform(rows.begin(), rows.end(), std::back_inserter(claimed), notification_from);
    // RETURNING has no order; every claimed row now shares one lease end, so oldest is by id.
    std::sort(claimed.begin(), claimed.end(),
              [](const NotificationRow& a, const NotificationRow& b) { return a.id < b.id; });
    return claimed;
}

int SqlLedger::reclaim_notifications(const std::string& owner, const std::string& incarnation,
                                     Time now) {
    auto session = pool_.acquire();
    SqlTransaction tx(*session, SqlTransaction::Mode::write);
    const std::int64_t reclaimed = session->exec(
        "UPDATE notifications SET next_attempt_at = ?, claimed_by = NULL, "
        "claimed_incarnation = NULL, claim_expires_at = NULL WHERE claimed_incarnation IS NOT "
        "NULL AND delivered_at IS NULL AND claimed_incarnation <> ? AND (claimed_by = ? OR "
        "claim_expires_at <= ?)",
        {SqlValue::of(to_millis(now)), SqlValue::of(incarnation), SqlValue::of(owner),
         SqlValue::of(to_millis(now))});
    tx.commit();
    return static_cast<int>(reclaimed);
}

bool SqlLedger::holds_notification_claim(NotificationId id, const std::string& incarnation) {
    auto session = pool_.acquire();
    const auto rows = session->query(
        "SELECT COUNT(*) FROM notifications WHERE id = ? AND claimed_incarnation = ? AND "
        "delivered_at IS NULL",
        {SqlValue::of(id), SqlValue::of(incarnation)});
    return !rows.empty() && rows.front().integer(0) == 1;
}

bool SqlLedger::mark_notification_delivered(NotificationId id, Time now) {
    auto session = pool_.acquire();
    SqlTransaction tx(*session, SqlTransaction::Mode::write);
    const std::int64_t changed = session->exec(
        "UPDATE notifications SET attempts = attempts + 1, delivered_at = ?, last_error = NULL, "
        "claimed_by = NULL, claimed_incarnation = NULL, claim_expires_at = NULL "
        "WHERE id = ? AND delivered_at IS NULL",
        {SqlValue::of(to_millis(now)), SqlValue::of(id)});
    tx.commit();
    return changed == 1;
}

bool SqlLedger::mark_notification_failed(NotificationId id, const std::string& error,
                                         Time next_attempt) {
    auto session = pool_.acquire();
    SqlTransaction tx(*session, SqlTransaction::Mode::write);
    const std::int64_t changed = session->exec(
        "UPDATE notifications SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, "
        "claimed_by = NULL, claimed_incarnation = NULL, claim_expires_at = NULL "
        "WHERE id = ? AND delivered_at IS NULL",
        {SqlValue::of(error), SqlValue::of(to_millis(next_attempt)), SqlValue::of(id)});
    tx.commit();
    return changed == 1;
}

std::vector<NotificationRow> SqlLedger::undelivered_notifications(
    std::optional<RequestNumber> request) {
    auto session = pool_.acquire();
    std::string sql = "SELECT " + std::string(kNotificationColumns) +
                      " FROM notifications WHERE delivered_at IS NULL ";
    std::vector<SqlValue> params;
    if (request) {
        sql += "AND request = ? ";
        params.push_back(SqlValue::of(*request));
    }
    sql += "ORDER BY id";
    const auto found = session->query(sql, params);
    std::vector<NotificationRow> rows;
    rows.reserve(found.size());
    std::transform(found.begin(), found.end(), std::back_inserter(rows), notification_from);
    return rows;
}

}  // namespace datafix::ledger
