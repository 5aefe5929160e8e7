// The notifications outbox on a PostgreSQL ledger: the shared lifecycle, two servers with four
// dispatch threads each claiming one queue (each message claimed once), a claimer that skips
// rows another transaction holds instead of waiting, and the v2 indexes.
#include <chrono>

#include "ledger/sql_session.hpp"
#include "notification_checks.hpp"
#include "pg_ledger_fixture.hpp"

namespace datafix::ledger::testing {

namespace {

struct PgLedger {
    std::string url;
    Key key = Key::generate();
    std::unique_ptr<Ledger> ledger = Ledger::open(url, key);
};

RequestNumber some_request(Ledger& ledger) {
    IssuedToken po =
        ledger.create_user({"Olivia", "olivia@example.com", Role::product_owner}, by(0));
    ChangeRequest r;
    r.title = "fix an intake name";
    r.reason = "asked by email";
    r.requested_by = po.person.id;
    r.created_by = po.person.id;
    r.created_at = at(0);
    AuditEvent e = by(po.person.id);
    e.action = "request.created";
    return ledger.create_request(r, e).request.number;
}

}  // namespace

TEST(PostgresqlOutbox, Lifecycle) {
    PgLedger pg{fresh_ledger_url()};
    check_outbox_lifecycle(*pg.ledger, some_request(*pg.ledger));
}

TEST(PostgresqlOutbox, ClaimsOldestDueFirstWithinLimit) {
    PgLedger pg{fresh_ledger_url()};
    check_claim_order_and_limit(*pg.ledger);
}

TEST(PostgresqlOutbox, RowsOfAnOwnerThatIsGoneAreReclaimed) {
    PgLedger pg{fresh_ledger_url()};
    check_reclaim_from_owners_gone(*pg.ledger);
}

TEST(PostgresqlOutbox, TwoServersClaimEachMessageOnce) {
    PgLedger pg{fresh_ledger_url()};
    auto server_b = Ledger::open(pg.url, pg.key);
    const RequestNumber request = some_request(*pg.ledger);
    std::vector<NotificationId> queued;
    for (int i = 0; i < 400; ++i) {
        queued.push_back(pg.ledger->enqueue_notification(
            outbox_row(i % 2 == 0 ? std::optional<RequestNumber>(request) : std::nullopt, "mail",
                       "person" + std::to_string(i) + "@example.com"),
            at(i % 7)));
    }
    check_each_claimed_once(claim_from_two_servers(*pg.ledger, *server_b, 4, 5), queued);
    EXPECT_TRUE(server_b->undelivered_notifications().empty());
    EXPECT_EQ(ledger_cluster().psql("SELECT COUNT(*) FROM notifications WHERE attempts <> 1",
                                    database_of(pg.url)),
              "0\n");
}

TEST(PostgresqlOutbox, AClaimSkipsRowsAnotherServerHolds) {
    PgLedger pg{fresh_ledger_url()};
    const NotificationId held =
        pg.ledger->enqueue_notification(outbox_row(std::nullopt, "team", ""), at(0));
    const NotificationId free =
        pg.ledger->enqueue_notification(outbox_row(std::nullopt, "team", ""), at(0));

    // Another server is in the middle of claiming `held`: its row lock is not yet committed.
    auto other = open_postgresql_session(pg.url.substr(std::string("postgresql:").size()));
    other->begin_write();
    other->query("SELECT id FROM notifications WHERE id = ? FOR UPDATE", {SqlValue::of(held)});

    const auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(ids_of(pg.ledger->claim_due_notifications(at(1), 10, 1min)),
              (std::vector<NotificationId>{free}));
    EXPECT_LT(std::chrono::steady_clock::now() - started, 2s) << "the claim waited for the lock";
    other->rollback();

    // Released without being leased: the next claim gets it.
    EXPECT_EQ(ids_of(pg.ledger->claim_due_notifications(at(1), 10, 1min)),
              (std::vector<NotificationId>{held}));
}

TEST(PostgresqlOutbox, DueRowsAreIndexed) {
    PgLedger pg{fresh_ledger_url()};
    EXPECT_EQ(ledger_cluster().psql(
                  "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE "
                  "tablename = 'notifications' AND indexdef LIKE '%WHERE (delivered_at IS NULL)'",
                  database_of(pg.url)),
              "notifications_due,notifications_undelivered_by_request\n");
}

}  // namespace datafix::ledger::testing
