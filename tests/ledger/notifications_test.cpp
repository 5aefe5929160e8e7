// The notifications outbox: the lifecycle every backend shares, two ledger objects on one store
// claiming at once, payloads stored as given (they are literal-free), on SQLite and on
// PostgreSQL; and SQLite's v2 migration's due-rows index, also when upgrading a v1 ledger.
#include "ledger/audit_chain.hpp"
#include "ledger/migrations.hpp"
#include "notification_checks.hpp"
#include "raw_sqlite.hpp"

namespace datafix::ledger::testing {

TEST_P(LedgerTest, OutboxLifecycle) {
    check_outbox_lifecycle(*ledger, new_request().request.number);
}

TEST_P(LedgerTest, OutboxClaimsOldestDueFirstWithinLimit) {
    check_claim_order_and_limit(*ledger);
}

TEST_P(LedgerTest, OutboxTwoLedgersOnOneStoreClaimEachRowOnce) {
    auto second = open_ledger(*key);
    std::vector<NotificationId> queued;
    for (int i = 0; i < 120; ++i) {
        queued.push_back(ledger->enqueue_notification(
            outbox_row(std::nullopt, "team", "team" + std::to_string(i) + "@example.com"), at(i)));
    }
    check_each_claimed_once(claim_from_two_servers(*ledger, *second, 3, 4), queued);
    EXPECT_TRUE(ledger->undelivered_notifications().empty());
}

TEST_P(LedgerTest, OutboxRowsOfAnOwnerThatIsGoneAreReclaimed) {
    check_reclaim_from_owners_gone(*ledger);
}

TEST_P(LedgerTest, ANewRequestsMessagesAreQueuedInTheTransactionThatStoresIt) {
    ChangeRequest r;
    r.title = "fix an intake name";
    r.reason = "asked by email";
    r.requested_by = po.person.id;
    r.requested_date = "2024-05-01";
    r.ticket = "https://tickets.example.com/1";
    r.created_by = po.person.id;
    r.created_at = at(5);
    AuditEvent e = by(po.person.id);
    e.action = "request.created";
    e.at = at(5);

    // A composer that fails stores neither the request nor any message.
    EXPECT_THROW(ledger->create_request(r, e,
                                        [](const RequestState&) -> std::vector<NewNotificationRow> {
                                            throw std::runtime_error("composing failed");
                                        }),
                 std::runtime_error);
    EXPECT_TRUE(ledger->list_requests({}).empty());
    EXPECT_TRUE(ledger->undelivered_notifications().empty());

    const RequestState created = ledger->create_request(r, e, [](const RequestState& state) {
        return std::vector<NewNotificationRow>{outbox_row(state.request.number, "team", "")};
    });
    auto queued = ledger->undelivered_notifications(created.request.number);
    ASSERT_EQ(queued.size(), 1u);
    EXPECT_EQ(queued[0].content, outbox_row(created.request.number, "team", ""));
    EXPECT_EQ(queued[0].next_attempt_at, at(5));
    // Its footer's head includes the request's own audit entry.
    auto head = ledger->audit_head();
    ASSERT_TRUE(head.has_value());
    EXPECT_EQ(queued[0].audit_head, format_audit_anchor(*head));
}

TEST_P(LedgerTest, OutboxPayloadIsStoredAsGiven) {
    // Not sealed, unlike change text: notify only ever queues normalized statements and counts.
    const RequestNumber request = new_request().request.number;
    ledger->enqueue_notification(outbox_row(request, "mail", "pat.owner@example.com"), at(0));
    EXPECT_EQ(raw_scalar("SELECT payload FROM notifications"),
              outbox_row(request, "mail", "").payload);
}

TEST_F(SqliteLedgerTest, OutboxDueRowsAreIndexed) {
    RawSqlite raw(db_path);
    EXPECT_EQ(raw.scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name IN "
                         "('notifications_due', 'notifications_undelivered_by_request')"),
              "2");
}

TEST_F(SqliteLedgerTest, VersionOneLedgerGetsTheOutboxIndexes) {
    const RequestNumber request = new_request().request.number;
    ledger->enqueue_notification(outbox_row(request, "mail", "pat.owner@example.com"), at(0));
    ledger.reset();
    {
        RawSqlite raw(db_path);
        // Back to version 1: what versions 2 and later added is gone.
        ASSERT_EQ(raw.exec(kUndoVersion3), "");
        ASSERT_EQ(raw.exec("DROP INDEX notifications_due; "
                           "DROP INDEX notifications_undelivered_by_request; "
                           "DELETE FROM schema_version WHERE version = 2"),
                  "");
    }
    ledger = Ledger::open(db_path, *key);
    EXPECT_EQ(ledger->schema_version(), latest_schema_version());
    EXPECT_EQ(ledger->undelivered_notifications(request).size(), 1u);
    RawSqlite raw(db_path);
    // Versions 2's two, and version 5's index of claimed rows.
    EXPECT_EQ(raw.scalar("SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'notifications_%'"),
              "3");
    EXPECT_EQ(raw.scalar("SELECT COUNT(*) FROM pragma_table_info('notifications') WHERE name IN "
                         "('claimed_by', 'claimed_incarnation', 'claim_expires_at')"),
              "3");
}

}  // namespace datafix::ledger::testing
