// Versioned schema, on SQLite and on PostgreSQL: created on first open, idempotent on reopen, a
// newer ledger refused, a version-2 ledger migrated with its data.
#include "ledger/migrations.hpp"
#include "core/error.hpp"
#include "ledger_fixture.hpp"

namespace datafix::ledger::testing {

TEST_P(LedgerTest, FreshLedgerIsAtLatestVersion) {
    EXPECT_EQ(ledger->schema_version(), latest_schema_version());
    EXPECT_EQ(raw_scalar("SELECT COUNT(*) FROM schema_version"),
              std::to_string(latest_schema_version()));
    if (GetParam() == Backend::sqlite) {
        EXPECT_EQ(raw_scalar("PRAGMA journal_mode"), "wal");
    }
    const std::string tables = GetParam() == Backend::sqlite
                                   ? "SELECT COUNT(*) FROM sqlite_master WHERE name = '"
                                   : "SELECT COUNT(*) FROM information_schema.tables WHERE "
                                     "table_schema = current_schema() AND table_name = '";
    for (const char* table : {"users", "requests", "claims", "pairs", "revisions", "runs",
                              "approvals", "notifications", "backups", "audit", "audit_head"}) {
        EXPECT_EQ(raw_scalar(tables + table + "'"), "1") << table;
    }
}

TEST_P(LedgerTest, ReopenKeepsDataAndVersion) {
    RequestState r = new_request();
    ledger.reset();
    ledger = open_ledger(*key);
    EXPECT_EQ(ledger->schema_version(), latest_schema_version());
    auto loaded = ledger->load(r.request.number);
    ASSERT_TRUE(loaded.has_value());
    EXPECT_EQ(loaded->request.title, r.request.title);
    EXPECT_EQ(loaded->request.reason, "asked by email");
    EXPECT_EQ(ledger->count_users(), 2);
}

TEST_P(LedgerTest, NewerLedgerRefused) {
    ledger.reset();
    ASSERT_EQ(raw_exec("INSERT INTO schema_version (version, applied_at) VALUES (999, 0)"), "");
    try {
        open_ledger(*key);
        FAIL() << "a newer ledger was opened";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::config);
        EXPECT_NE(e.message().find("999"), std::string::npos);
    }
}

TEST_P(LedgerTest, Version3FillsParticipantsAndExpiresOldTokens) {
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
    // Back to a version-2 ledger, as it was before this migration.
    ASSERT_EQ(raw_exec(kUndoVersion3), "");
    const Time before = wall_clock_now();
    ledger = open_ledger(*key);
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

TEST_F(SqliteLedgerTest, SqlitePrefixAccepted) {
    ledger.reset();
    ledger = Ledger::open("sqlite:" + db_path, *key);
    EXPECT_EQ(ledger->count_users(), 2);
}

}  // namespace datafix::ledger::testing
