// The same ledger on PostgreSQL (a throwaway PostgreSQL 15 cluster): migrations, a full state
// round trip with sealed text, 64 concurrent claims from two "servers" on one ledger, and the
// audit chain noticing an edited row.
#include <atomic>
#include <thread>
#include <vector>

#include "audit_tamper.hpp"
#include "core/error.hpp"
#include "harness/pg_cluster.hpp"
#include "ledger/audit_chain.hpp"
#include "ledger/migrations.hpp"
#include "ledger_fixture.hpp"
#include "pg_ledger_fixture.hpp"

namespace datafix::ledger::testing {

namespace {

datafix::testing::PgCluster& cluster() {
    return ledger_cluster();
}

const std::string kCanary = "canary-pg-51c2-private";

RequestState request_with_revision(Ledger& ledger, UserId po, UserId dev) {
    ChangeRequest r;
    r.title = "fix an intake name";
    r.reason = "asked by " + kCanary;
    r.requested_by = po;
    r.created_by = po;
    r.created_at = at(0);
    AuditEvent e = by(po);
    e.action = "request.created";
    RequestState s = ledger.create_request(r, e);
    ledger.transact(s.request.number, [&](RequestState& st) {
        Revision v;
        v.number = 1;
        v.hash = std::string(64, 'a');
        v.change_hash = std::string(64, 'b');
        v.change_sql = "UPDATE app_public.intake SET name = '" + kCanary + "' WHERE id = 1";
        v.verify_sql = "SELECT 1";
        v.statements.push_back(
            {"UPDATE app_public.intake SET name = $1 WHERE id = $2", "f", std::string(64, 'c'), 1});
        v.attached_by = dev;
        v.attached_at = at(1);
        st.revisions.push_back(v);
        Run run;
        run.number = 1;
        run.revision = 1;
        run.revision_hash = v.hash;
        run.environment = "dev";
        run.started_by = dev;
        run.started_at = at(2);
        run.verify_results = std::string("bytes\0with\xff nul", 15);
        run.xid = 99;
        st.runs.push_back(run);
        AuditEvent a = by(dev, at(2));
        a.action = "revision.attached";
        return Mutation{true, {a}};
    });
    return *ledger.load(s.request.number);
}

}  // namespace

TEST(PostgresqlLedger, MigratesAndRoundTrips) {
    const std::string url = fresh_ledger_url();
    Key key = Key::generate();
    auto ledger = Ledger::open(url, key);
    EXPECT_EQ(ledger->schema_version(), latest_schema_version());
    IssuedToken po =
        ledger->create_user({"Olivia", "olivia@example.com", Role::product_owner}, by(0));
    IssuedToken dev = ledger->create_user({"Dana", "dana@example.com", Role::developer}, by(0));
    EXPECT_EQ(ledger->authenticate(dev.token)->id, dev.person.id);
    RequestState s = request_with_revision(*ledger, po.person.id, dev.person.id);
    EXPECT_EQ(s.request.reason, "asked by " + kCanary);
    EXPECT_NE(s.revisions.at(0).change_sql.find(kCanary), std::string::npos);
    EXPECT_EQ(s.runs.at(0).verify_results, std::string("bytes\0with\xff nul", 15));
    EXPECT_EQ(s.runs.at(0).xid, 99);
    EXPECT_FALSE(s.runs.at(0).finished_at.has_value());
    EXPECT_EQ(ledger->list_requests({}).size(), 1u);

    // Sealed in the database: the canary is not in any column's text.
    const std::string dump = cluster().psql(
        "SELECT string_agg(t::text, ' ') FROM (SELECT r::text AS t FROM requests r UNION ALL "
        "SELECT v::text FROM revisions v UNION ALL SELECT u::text FROM runs u) x",
        url.substr(url.find("dbname=") + 7, url.find(" user=") - url.find("dbname=") - 7));
    EXPECT_EQ(dump.find(kCanary), std::string::npos);
    EXPECT_NE(dump.find("SET name = $1"), std::string::npos);

    // Reopening (a second server starting) migrates nothing and sees the same data.
    auto second = Ledger::open(url, key);
    EXPECT_EQ(second->load(s.request.number)->revisions.at(0).hash, std::string(64, 'a'));
    EXPECT_TRUE(second->verify_audit().intact);
}

TEST(PostgresqlLedger, TwoServersSixtyFourClaimsOneWinner) {
    const std::string url = fresh_ledger_url();
    Key key = Key::generate();
    auto server_a = Ledger::open(url, key);
    auto server_b = Ledger::open(url, key);
    IssuedToken po =
        server_a->create_user({"Olivia", "olivia@example.com", Role::product_owner}, by(0));
    IssuedToken dev = server_a->create_user({"Dana", "dana@example.com", Role::developer}, by(0));
    RequestState s = request_with_revision(*server_a, po.person.id, dev.person.id);
    std::atomic<int> winners{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < 64; ++i) {
        threads.emplace_back([&, i] {
            Ledger& server = (i % 2 == 0) ? *server_a : *server_b;
            while (!go.load()) {
                std::this_thread::yield();
            }
            TransactResult r = server.transact(s.request.number, [&](RequestState& st) {
                if (st.claim.has_value()) {
                    return Mutation{};
                }
                st.claim = Claim{dev.person.id, at(i), at(1800)};
                AuditEvent e = by(dev.person.id, at(i));
                e.action = "claim.taken";
                return Mutation{true, {e}};
            });
            if (r.committed) {
                ++winners;
            }
        });
    }
    go = true;
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(winners.load(), 1);
    AuditCheck check = server_b->verify_audit();
    EXPECT_TRUE(check.intact) << check.reason;
}

TEST(PostgresqlLedger, AuditEditNamed) {
    const std::string url = fresh_ledger_url();
    const std::string db =
        url.substr(url.find("dbname=") + 7, url.find(" user=") - url.find("dbname=") - 7);
    Key key = Key::generate();
    auto ledger = Ledger::open(url, key);
    for (int i = 0; i < 4; ++i) {
        ledger->create_user(
            {"P" + std::to_string(i), "p" + std::to_string(i) + "@example.com", Role::developer},
            by(0));
    }
    EXPECT_TRUE(ledger->verify_audit().intact);
    EXPECT_THROW(cluster().psql("UPDATE audit SET detail = 'x' WHERE seq = 2", db),
                 std::runtime_error);
    cluster().psql(
        "ALTER TABLE audit DISABLE TRIGGER audit_no_change; "
        "UPDATE audit SET detail = 'user=1 role=admin' WHERE seq = 2",
        db);
    AuditCheck check = ledger->verify_audit();
    EXPECT_FALSE(check.intact);
    EXPECT_EQ(check.seq, 2);
    EXPECT_NE(check.reason.find("edited"), std::string::npos);
}

TEST(PostgresqlLedger, KeyedAuditRewriteAndTruncationNamed) {
    const std::string url = fresh_ledger_url();
    const std::string db = database_of(url);
    Key key = Key::generate();
    AuditKeying keying{Key::generate(), false};
    auto ledger = Ledger::open(url, key, &keying);  // entry 1: audit.keyed
    auto dev = ledger->create_user({"Dana", "dana@example.com", Role::developer}, by(0));
    auto po = ledger->create_user({"Olivia", "olivia@example.com", Role::product_owner}, by(0));
    for (int i = 0; i < 3; ++i) {
        AuditEvent e = by(dev.person.id, at(10 + i));
        e.action = i == 1 ? "evidence.approved" : "test.step";
        ledger->append_audit(e);  // entries 4..6; 5 is the approval
    }
    auto all = ledger->read_audit({});
    ASSERT_EQ(all.size(), 6u);
    const std::string published = format_audit_anchor(all.back());
    EXPECT_TRUE(ledger->verify_audit(parse_audit_anchor(published)).intact);

    all[4].event.actor = po.person.id;
    cluster().psql(
        "ALTER TABLE audit DISABLE TRIGGER audit_no_change;\n" + rechain_unkeyed_sql(all, 5), db);
    AuditCheck check = ledger->verify_audit();
    EXPECT_FALSE(check.intact);
    EXPECT_EQ(check.seq, 5);
    EXPECT_NE(check.reason.find("keyed hash"), std::string::npos) << check.reason;

    // Truncated back to entry 4 with a matching head: only the published head tells.
    cluster().psql("DELETE FROM audit WHERE seq >= 5; UPDATE audit_head SET seq = 4, hash = '" +
                       all[3].hash + "' WHERE id = 1;",
                   db);
    EXPECT_TRUE(ledger->verify_audit().intact);
    AuditCheck truncated = ledger->verify_audit(parse_audit_anchor(published));
    EXPECT_FALSE(truncated.intact);
    EXPECT_EQ(truncated.seq, 6);
}

TEST(PostgresqlLedger, NewerSchemaRefused) {
    const std::string url = fresh_ledger_url();
    const std::string db =
        url.substr(url.find("dbname=") + 7, url.find(" user=") - url.find("dbname=") - 7);
    Key key = Key::generate();
    Ledger::open(url, key);
    cluster().psql("INSERT INTO schema_version VALUES (999, 0)", db);
    EXPECT_THROW(Ledger::open(url, key), Error);
}

}  // namespace datafix::ledger::testing
