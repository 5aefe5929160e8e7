// People and tokens, on SQLite and on PostgreSQL: random, shown once, stored only as SHA-256;
// rotation and deactivation revoke the old token.
#include "core/error.hpp"
#include "core/hash.hpp"
#include "ledger/token.hpp"
#include "ledger_fixture.hpp"

namespace datafix::ledger::testing {

TEST(Token, RandomAndHashed) {
    std::string a = generate_token();
    std::string b = generate_token();
    EXPECT_NE(a, b);
    EXPECT_EQ(a.size(), 4u + 64u);
    EXPECT_EQ(a.rfind("dfx_", 0), 0u);
    EXPECT_EQ(token_hash(a), sha256_hex(a));
}

TEST_P(LedgerTest, TokenAuthenticatesAndIsStoredOnlyAsHash) {
    auto person = ledger->authenticate(dev.token);
    ASSERT_TRUE(person.has_value());
    EXPECT_EQ(person->id, dev.person.id);
    EXPECT_EQ(person->role, Role::developer);
    EXPECT_FALSE(ledger->authenticate("dfx_" + std::string(64, '0')).has_value());
    EXPECT_FALSE(ledger->authenticate("").has_value());
    EXPECT_EQ(
        raw_scalar("SELECT token_hash FROM users WHERE id = " + std::to_string(dev.person.id)),
        sha256_hex(dev.token));
    EXPECT_EQ(stored_bytes().find(dev.token), std::string::npos);
    EXPECT_EQ(stored_bytes().find(dev.token.substr(4)), std::string::npos);
}

TEST_P(LedgerTest, RotateRevokesOldToken) {
    auto rotated = ledger->rotate_token(dev.person.id, by(0));
    ASSERT_TRUE(rotated.has_value());
    EXPECT_FALSE(ledger->authenticate(dev.token).has_value());
    EXPECT_TRUE(ledger->authenticate(rotated->token).has_value());
    EXPECT_FALSE(ledger->rotate_token(999, by(0)).has_value());
}

TEST_P(LedgerTest, DeactivateRevokes) {
    EXPECT_TRUE(ledger->set_user_active(dev.person.id, false, by(0)));
    EXPECT_FALSE(ledger->authenticate(dev.token).has_value());
    EXPECT_FALSE(ledger->find_user(dev.person.id)->active);
    EXPECT_TRUE(ledger->set_user_active(dev.person.id, true, by(0)));
    EXPECT_FALSE(ledger->authenticate(dev.token).has_value());  // a new token is needed
    EXPECT_FALSE(ledger->set_user_active(999, false, by(0)));
}

TEST_P(LedgerTest, DuplicateEmailRefused) {
    try {
        ledger->create_user({"Other", "dana@example.com", Role::developer}, by(0));
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::invalid_input);
    }
}

TEST_P(LedgerTest, FindAndList) {
    EXPECT_EQ(ledger->find_user_by_email("olivia@example.com")->role, Role::product_owner);
    EXPECT_FALSE(ledger->find_user_by_email("nobody@example.com").has_value());
    auto people = ledger->list_users();
    ASSERT_EQ(people.size(), 2u);
    EXPECT_EQ(people[0].name, "Olivia PO");
    auto audit = ledger->read_audit({});
    ASSERT_EQ(audit.size(), 2u);
    EXPECT_EQ(audit[0].event.action, "user.created");
    EXPECT_EQ(audit[0].event.detail.find("example.com"), std::string::npos);
}

}  // namespace datafix::ledger::testing
