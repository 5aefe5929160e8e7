// The audit chain, on SQLite and on PostgreSQL: intact after normal use; an entry edited,
// deleted or reordered directly in the store is named by verify_audit() with its seq and why.
#include "core/error.hpp"
#include "ledger/audit_chain.hpp"
#include "ledger_fixture.hpp"

namespace datafix::ledger::testing {

class AuditChain : public LedgerTest {
  protected:
    void SetUp() override {
        LedgerTest::SetUp();
        new_request();  // entries 1, 2: users; 3: request.created
        for (int i = 0; i < 5; ++i) {
            AuditEvent e = by(dev.person.id, at(10 + i));
            e.action = "test.step";
            e.request = 1;
            e.environment = "dev";
            e.detail = "counts=" + std::to_string(i);
            ledger->append_audit(e);  // entries 4..8
        }
    }

    AuditCheck tamper(const std::string& sql) {
        ledger.reset();
        // The append-only triggers stop honest mistakes; an attacker drops them first.
        EXPECT_EQ(drop_audit_guards(), "");
        EXPECT_EQ(raw_exec(sql), "");
        ledger = open_ledger(*key);
        return ledger->verify_audit();
    }
};

TEST_P(AuditChain, IntactAfterUse) {
    AuditCheck check = ledger->verify_audit();
    EXPECT_TRUE(check.intact) << check.reason;
    EXPECT_EQ(check.entries, 8);
    auto entries = ledger->read_audit({});
    ASSERT_EQ(entries.size(), 8u);
    EXPECT_EQ(entries[0].prev_hash, kAuditGenesisHash);
    for (std::size_t i = 1; i < entries.size(); ++i) {
        EXPECT_EQ(entries[i].prev_hash, entries[i - 1].hash);
        EXPECT_EQ(entries[i].seq, static_cast<std::int64_t>(i + 1));
        EXPECT_EQ(audit_entry_hash(entries[i]), entries[i].hash);
    }
    EXPECT_EQ(ledger->read_audit({1, 0, 100}).size(), 6u);  // request 1 only
    EXPECT_EQ(ledger->read_audit({std::nullopt, 6, 100}).size(), 2u);
}

TEST_P(AuditChain, AppendOnlyInTheStore) {
    ledger.reset();
    EXPECT_NE(raw_exec("UPDATE audit SET detail = 'x' WHERE seq = 4").find("append-only"),
              std::string::npos);
    EXPECT_NE(raw_exec("DELETE FROM audit WHERE seq = 4").find("append-only"), std::string::npos);
}

TEST_P(AuditChain, EditedEntryNamed) {
    AuditCheck check = tamper("UPDATE audit SET detail = 'counts=99' WHERE seq = 5");
    EXPECT_FALSE(check.intact);
    EXPECT_EQ(check.seq, 5);
    EXPECT_NE(check.reason.find("edited"), std::string::npos) << check.reason;
}

TEST_P(AuditChain, EditedEntryWithRecomputedHashBreaksTheNextLink) {
    // Editing a field and the entry's own hash still leaves the next entry's prev_hash.
    AuditCheck check =
        tamper("UPDATE audit SET actor = 1, hash = '" + std::string(64, 'f') + "' WHERE seq = 6");
    EXPECT_FALSE(check.intact);
    EXPECT_EQ(check.seq, 6);
}

TEST_P(AuditChain, DeletedEntryNamed) {
    AuditCheck check = tamper("DELETE FROM audit WHERE seq = 4");
    EXPECT_FALSE(check.intact);
    EXPECT_EQ(check.seq, 4);
    EXPECT_NE(check.reason.find("deleted"), std::string::npos) << check.reason;
}

TEST_P(AuditChain, DeletedAndRenumberedEntryNamed) {
    AuditCheck check = tamper(
        "DELETE FROM audit WHERE seq = 4; UPDATE audit SET seq = seq - 1 WHERE seq > 4;"
        "UPDATE audit_head SET seq = seq - 1");
    EXPECT_FALSE(check.intact);
    EXPECT_EQ(check.seq, 4);
    EXPECT_NE(check.reason.find("deleted or reordered"), std::string::npos) << check.reason;
}

TEST_P(AuditChain, LastEntryDeletedNamed) {
    AuditCheck check = tamper("DELETE FROM audit WHERE seq = 8");
    EXPECT_FALSE(check.intact);
    EXPECT_EQ(check.seq, 8);
    EXPECT_NE(check.reason.find("missing at the end"), std::string::npos) << check.reason;
}

TEST_P(AuditChain, ReorderedEntriesNamed) {
    AuditCheck check = tamper(
        "UPDATE audit SET seq = -5 WHERE seq = 5; UPDATE audit SET seq = 5 WHERE seq = 6;"
        "UPDATE audit SET seq = 6 WHERE seq = -5");
    EXPECT_FALSE(check.intact);
    EXPECT_EQ(check.seq, 5);
    EXPECT_NE(check.reason.find("reordered"), std::string::npos) << check.reason;
}

DATAFIX_ON_EVERY_BACKEND(AuditChain);

TEST(AuditCheckPure, EmptyChainIsIntact) {
    AuditCheck check = check_audit_chain({}, 0, kAuditGenesisHash);
    EXPECT_TRUE(check.intact);
    EXPECT_EQ(check.entries, 0);
}

}  // namespace datafix::ledger::testing
