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

TEST_F(LedgerTest, SqlitePrefixAccepted) {
    ledger.reset();
    ledger = Ledger::open("sqlite:" + db_path, *key);
    EXPECT_EQ(ledger->count_users(), 2);
}

}  // namespace datafix::ledger::testing
