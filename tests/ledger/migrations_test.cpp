// Versioned schema: created on first open, idempotent on reopen, a newer ledger refused.
#include "ledger/migrations.hpp"
#include "core/error.hpp"
#include "ledger_fixture.hpp"
#include "raw_sqlite.hpp"

namespace datafix::ledger::testing {

TEST_F(LedgerTest, FreshLedgerIsAtLatestVersion) {
    EXPECT_EQ(ledger->schema_version(), latest_schema_version());
    RawSqlite raw(db_path);
    EXPECT_EQ(raw.scalar("SELECT COUNT(*) FROM schema_version"),
              std::to_string(latest_schema_version()));
    EXPECT_EQ(raw.scalar("PRAGMA journal_mode"), "wal");
    for (const char* table : {"users", "requests", "claims", "pairs", "revisions", "runs",
                              "approvals", "notifications", "backups", "audit", "audit_head"}) {
        EXPECT_EQ(raw.scalar(std::string("SELECT COUNT(*) FROM sqlite_master WHERE name = '") +
                             table + "'"),
                  "1")
            << table;
    }
}

TEST_F(LedgerTest, ReopenKeepsDataAndVersion) {
    RequestState r = new_request();
    ledger.reset();
    ledger = Ledger::open(db_path, *key);
    EXPECT_EQ(ledger->schema_version(), latest_schema_version());
    auto loaded = ledger->load(r.request.number);
    ASSERT_TRUE(loaded.has_value());
    EXPECT_EQ(loaded->request.title, r.request.title);
    EXPECT_EQ(loaded->request.reason, "asked by email");
    EXPECT_EQ(ledger->count_users(), 2);
}

TEST_F(LedgerTest, NewerLedgerRefused) {
    ledger.reset();
    {
        RawSqlite raw(db_path);
        ASSERT_EQ(raw.exec("INSERT INTO schema_version (version, applied_at) VALUES (999, 0)"), "");
    }
    try {
        Ledger::open(db_path, *key);
        FAIL() << "a newer ledger was opened";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::config);
        EXPECT_NE(e.message().find("999"), std::string::npos);
    }
}

TEST_F(LedgerTest, Version3FillsParticipantsAndExpiresOldTokens) {
    RequestState r = new_request();
    ledger->transact(r.request.number, [&](RequestState& st) {
        st.claim = Claim{dev.person.id, at(1), at(100)};
        Approval a;
        a.number = 1;
        a.environment = "dev";
        a.approved_by = po.person.id;
        st.approvals.push_back(a);
        return Mutation{true, {}};
    });
    ledger.reset();
    {
        // Back to a version-2 ledger, as it was before this migration.
        RawSqlite raw(db_path);
        ASSERT_EQ(raw.exec(kUndoVersion3), "");
    }
    const Time before = wall_clock_now();
    ledger = Ledger::open(db_path, *key);
    EXPECT_EQ(ledger->schema_version(), latest_schema_version());
    auto loaded = ledger->load(r.request.number);
    ASSERT_TRUE(loaded.has_value());
    EXPECT_EQ(loaded->participants.drove, (std::vector<UserId>{dev.person.id}));
    EXPECT_EQ(loaded->participants.paired, (std::vector<UserId>{po.person.id}));
    auto person = ledger->authenticate(dev.token);
    ASSERT_TRUE(person.has_value());
    ASSERT_TRUE(person->token_expires_at.has_value());
    EXPECT_GE(*person->token_expires_at, before + kDefaultTokenLifetime);
    EXPECT_EQ(person->token_scope, TokenScope::full);
}

TEST_F(LedgerTest, SqlitePrefixAccepted) {
    ledger.reset();
    ledger = Ledger::open("sqlite:" + db_path, *key);
    EXPECT_EQ(ledger->count_users(), 2);
}

}  // namespace datafix::ledger::testing
