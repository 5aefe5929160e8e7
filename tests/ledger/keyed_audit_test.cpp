// The keyed audit chain, on SQLite and on PostgreSQL: an approval's actor rewritten in the store
// with every later link recomputed (what the unkeyed chain could not notice) is named; a truncated
// tail is noticed against a published head; without the audit key a keyed chain cannot be verified;
// a key that does not belong to the chain is refused at open.
#include "audit_tamper.hpp"
#include "core/error.hpp"
#include "ledger/audit_chain.hpp"
#include "ledger_fixture.hpp"

namespace datafix::ledger::testing {

class KeyedAudit : public LedgerTest {
  protected:
    void SetUp() override {
        LedgerTest::SetUp();  // entries 1, 2: users, written before the chain was keyed
        audit_key = std::make_unique<Key>(Key::generate());
        reopen(true);   // entry 3: audit.keyed
        new_request();  // entry 4: request.created
        for (int i = 0; i < 3; ++i) {
            AuditEvent e = by(dev.person.id, at(10 + i));
            e.action = i == 1 ? "evidence.approved" : "test.step";
            e.request = 1;
            e.environment = "dev";
            e.detail = "approval=" + std::to_string(i);
            ledger->append_audit(e);  // entries 5..7; 6 is the approval
        }
    }

    void reopen(bool new_key = false) {
        ledger.reset();
        AuditKeying keying{*audit_key, new_key};
        ledger = open_ledger(*key, &keying);
    }

    // Rewrites the store as an attacker without the audit key would.
    void tamper(const std::string& sql) {
        ledger.reset();
        ASSERT_EQ(drop_audit_guards(), "");
        ASSERT_EQ(raw_exec(sql), "") << sql;
    }

    std::vector<AuditEntry> entries() { return ledger->read_audit({std::nullopt, 0, 1000}); }

    std::unique_ptr<Key> audit_key;
};

TEST_P(KeyedAudit, IntactAndKeyedFromItsMarker) {
    AuditCheck check = ledger->verify_audit();
    EXPECT_TRUE(check.intact) << check.reason;
    EXPECT_EQ(check.entries, 7);
    EXPECT_EQ(check.keyed_from, 3);
    auto all = entries();
    ASSERT_EQ(all.size(), 7u);
    EXPECT_EQ(all[2].event.action, kAuditKeyedAction);
    EXPECT_EQ(all[2].event.detail, "unkeyed_entries=2");
    // Before the marker: SHA-256; from it on: the keyed MAC, which the plain hash is not.
    EXPECT_EQ(audit_entry_hash(all[1]), all[1].hash);
    EXPECT_EQ(audit_entry_mac(all[5], *audit_key), all[5].hash);
    EXPECT_NE(audit_entry_hash(all[5]), all[5].hash);
    // Reopening with the same key is fine and writes nothing.
    reopen();
    EXPECT_EQ(ledger->verify_audit().entries, 7);
}

TEST_P(KeyedAudit, RewrittenApproverWithRecomputedChainNamed) {
    auto all = entries();
    ASSERT_EQ(all[5].event.action, "evidence.approved");
    all[5].event.actor = po.person.id;  // "the product owner approved it", not the developer
    const std::string sql = rechain_unkeyed_sql(all, 6);
    tamper(sql);
    reopen();
    AuditCheck check = ledger->verify_audit();
    EXPECT_FALSE(check.intact);
    EXPECT_TRUE(check.verifiable);
    EXPECT_EQ(check.seq, 6);
    EXPECT_NE(check.reason.find("keyed hash"), std::string::npos) << check.reason;
}

TEST_P(KeyedAudit, LegacyEntryRewrittenBeforeTheMarkerNamedAtTheMarker) {
    auto all = entries();
    all[0].event.detail = "user=1 role=admin";
    tamper("UPDATE audit SET detail = 'user=1 role=admin' WHERE seq = 1;\n" +
           rechain_unkeyed_sql(all, 1));
    // The marker's MAC covers the last unkeyed hash: the server does not start on it...
    try {
        reopen();
        FAIL() << "a chain rewritten before its keyed entry was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::config);
        EXPECT_NE(std::string(e.what()).find("keyed entry 3"), std::string::npos) << e.what();
    }
    // ...and the check with the key names it.
    ledger = open_ledger(*key);
    auto rows = ledger->read_audit({});
    AuditCheck check = check_audit_chain(rows, rows.back().seq, rows.back().hash, audit_key.get());
    EXPECT_FALSE(check.intact);
    EXPECT_EQ(check.seq, 3);
}

TEST_P(KeyedAudit, MarkerRemovedAndEverythingRechainedRefusedAtOpenAndVerify) {
    auto all = entries();
    all[2].event.action = "user.created";  // hide the marker, then rehash all as unkeyed
    tamper(rechain_unkeyed_sql(all, 1));
    try {
        reopen();
        FAIL() << "a key file with an unkeyed chain was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::config);
        EXPECT_NE(std::string(e.what()).find("none is keyed"), std::string::npos) << e.what();
    }
    // Read without the key, the chain looks fine; the server's check with its key does not.
    ledger = open_ledger(*key);
    EXPECT_TRUE(ledger->verify_audit().intact);
    auto rows = ledger->read_audit({});
    AuditCheck check = check_audit_chain(rows, rows.back().seq, rows.back().hash, audit_key.get());
    EXPECT_FALSE(check.intact);
    EXPECT_NE(check.reason.find("no entry of the chain is keyed"), std::string::npos);
}

TEST_P(KeyedAudit, TruncatedTailDetectedAgainstAPublishedHead) {
    auto all = entries();
    const std::string published = format_audit_anchor(all.back());  // 7:...
    const std::string earlier = format_audit_anchor(all[3]);        // 4:...
    tamper("DELETE FROM audit WHERE seq >= 6; UPDATE audit_head SET seq = 5, hash = '" +
           all[4].hash + "' WHERE id = 1;");
    reopen();
    // The chain itself is a valid prefix: only the published head tells.
    EXPECT_TRUE(ledger->verify_audit().intact);
    AuditCheck check = ledger->verify_audit(parse_audit_anchor(published));
    EXPECT_FALSE(check.intact);
    EXPECT_EQ(check.seq, 7);
    EXPECT_NE(check.reason.find("rewritten or truncated"), std::string::npos) << check.reason;
    AuditCheck still = ledger->verify_audit(parse_audit_anchor(earlier));
    EXPECT_TRUE(still.intact) << still.reason;
    EXPECT_TRUE(still.anchor_checked);
}

TEST_P(KeyedAudit, RewrittenChainLosesThePublishedHead) {
    auto all = entries();
    const std::string published = format_audit_anchor(all.back());
    all[5].event.actor = po.person.id;
    tamper(rechain_unkeyed_sql(all, 6));
    reopen();
    AuditCheck check = ledger->verify_audit(parse_audit_anchor(published));
    EXPECT_FALSE(check.intact);
}

TEST_P(KeyedAudit, WithoutTheKeyNotVerifiableAndNoAppends) {
    ledger.reset();
    ledger = open_ledger(*key);
    AuditCheck check = ledger->verify_audit();
    EXPECT_FALSE(check.verifiable);
    EXPECT_FALSE(check.intact);
    EXPECT_NE(check.reason.find("cannot be verified without the audit key"), std::string::npos)
        << check.reason;
    AuditEvent e = by(dev.person.id, at(20));
    e.action = "test.step";
    EXPECT_THROW(ledger->append_audit(e), Error);
    EXPECT_EQ(ledger->read_audit({}).size(), 7u);
}

TEST_P(KeyedAudit, AnotherKeyRefusedAtOpen) {
    ledger.reset();
    AuditKeying other{Key::generate(), false};
    EXPECT_THROW(open_ledger(*key, &other), Error);
    AuditKeying fresh{Key::generate(), true};  // a lost key replaced by a new file
    EXPECT_THROW(open_ledger(*key, &fresh), Error);
    reopen();
    EXPECT_TRUE(ledger->verify_audit().intact);
}

TEST_P(KeyedAudit, PublisherSeesEveryHead) {
    std::vector<std::string> heads;
    ledger->set_audit_publisher(
        [&heads](const AuditEntry& entry) { heads.push_back(format_audit_anchor(entry)); });
    new_request("a second request");
    ASSERT_EQ(heads.size(), 1u);
    EXPECT_EQ(heads[0], format_audit_anchor(*ledger->audit_head()));
    EXPECT_EQ(heads[0].substr(0, 2), "8:");
}

DATAFIX_ON_EVERY_BACKEND(KeyedAudit);

TEST(AuditAnchorText, ParsesSeqAndMac) {
    const std::string mac(64, 'a');
    auto anchor = parse_audit_anchor("12:" + mac);
    ASSERT_TRUE(anchor.has_value());
    EXPECT_EQ(anchor->seq, 12);
    EXPECT_EQ(anchor->hash, mac);
    EXPECT_FALSE(parse_audit_anchor("12:" + mac.substr(1)).has_value());
    EXPECT_FALSE(parse_audit_anchor("x:" + mac).has_value());
    EXPECT_FALSE(parse_audit_anchor(std::string(64, 'g')).has_value());
    EXPECT_FALSE(parse_audit_anchor("12" + mac).has_value());
    EXPECT_FALSE(parse_audit_anchor(mac).value().seq.has_value());
}

TEST(AuditKeyedEmptyLedger, KeyedFromTheFirstEntry) {
    auto dir = fresh_dir("keyed-empty");
    Key key = Key::generate();
    AuditKeying keying{Key::generate(), false};  // an existing key is fine for an empty chain
    auto ledger = Ledger::open((dir / "l.db").string(), key, &keying);
    auto entries = ledger->read_audit({});
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].event.action, kAuditKeyedAction);
    ledger->create_user({"Ada", "ada@example.com", Role::admin}, by(0));
    EXPECT_TRUE(ledger->verify_audit().intact);
    EXPECT_EQ(ledger->verify_audit().keyed_from, 1);
    ledger.reset();
    std::filesystem::remove_all(dir);
}

}  // namespace datafix::ledger::testing
