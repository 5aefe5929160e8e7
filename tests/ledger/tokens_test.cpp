// Tokens that expire and have a scope; a token an admin rotates for someone else is marked as
// issued by that admin (kept through the owner's own rotation), audited, and its owner is told
// in the same transaction. The four-eyes participants of a request are stored and only grow.
#include "ledger/audit_chain.hpp"
#include "ledger_fixture.hpp"

namespace datafix::ledger::testing {

class TokenLedger : public LedgerTest {};

TEST_P(TokenLedger, IssuedTokensExpireAndHaveAScope) {
    auto person = ledger->authenticate(dev.token);
    ASSERT_TRUE(person.has_value());
    EXPECT_EQ(person->token_scope, TokenScope::full);
    EXPECT_EQ(person->token_expires_at, at(0) + kDefaultTokenLifetime);
    EXPECT_EQ(person->token_issued_by, 0);

    TokenOptions read{TokenScope::read, std::chrono::days(1)};
    auto auditor =
        ledger->create_user({"Aud Itor", "audit@example.com", Role::developer}, by(0, at(5)), read);
    EXPECT_EQ(auditor.person.token_scope, TokenScope::read);
    auto found = ledger->authenticate(auditor.token);
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->token_scope, TokenScope::read);
    EXPECT_EQ(found->token_expires_at, at(5) + std::chrono::days(1));
    auto entries = ledger->read_audit({});
    EXPECT_NE(entries.back().event.detail.find("scope=read"), std::string::npos)
        << entries.back().event.detail;
}

TEST_P(TokenLedger, AdminRotationIsMarkedAuditedAndToldToTheOwner) {
    auto admin = ledger->create_user({"Ada Admin", "ada@example.com", Role::admin}, by(0));
    NewNotificationRow notice{"token-rotated", std::nullopt, "mail", "dana@example.com",
                              "{\"subject\":\"s\",\"text\":\"t\",\"link\":\"\"}"};
    auto rotated = ledger->rotate_token(dev.person.id, by(admin.person.id, at(7)), {}, {notice});
    ASSERT_TRUE(rotated.has_value());
    EXPECT_FALSE(ledger->authenticate(dev.token).has_value());
    auto person = ledger->authenticate(rotated->token);
    ASSERT_TRUE(person.has_value());
    EXPECT_EQ(person->token_issued_by, admin.person.id);
    auto queued = ledger->undelivered_notifications();
    ASSERT_EQ(queued.size(), 1u);
    EXPECT_EQ(queued[0].content.recipient, "dana@example.com");
    EXPECT_FALSE(queued[0].audit_head.empty());
    auto entries = ledger->read_audit({});
    EXPECT_EQ(entries.back().event.action, "user.token_rotated");
    EXPECT_EQ(entries.back().event.actor, admin.person.id);
    EXPECT_NE(entries.back().event.detail.find("issued_by=" + std::to_string(admin.person.id)),
              std::string::npos);
    // The notice's footer names the rotation's own entry.
    EXPECT_EQ(queued[0].audit_head, format_audit_anchor(entries.back()));

    // The owner's own rotation keeps the mark (the admin holding the token could do it) and
    // tells nobody.
    auto again = ledger->rotate_token(dev.person.id, by(dev.person.id, at(8)), {}, {notice});
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(ledger->authenticate(again->token)->token_issued_by, admin.person.id);
    EXPECT_EQ(ledger->undelivered_notifications().size(), 1u);
}

TEST_P(TokenLedger, ParticipantsAreStoredAndOnlyGrow) {
    RequestState s = new_request();
    ledger->transact(s.request.number, [&](RequestState& st) {
        st.participants.drove = {dev.person.id, 9};
        st.participants.paired = {3};
        AuditEvent e = by(dev.person.id);
        e.action = "claim.taken";
        return Mutation{true, {e}};
    });
    auto loaded = ledger->load(s.request.number);
    ASSERT_TRUE(loaded.has_value());
    EXPECT_EQ(loaded->participants.drove, (std::vector<UserId>{dev.person.id, 9}));
    EXPECT_EQ(loaded->participants.paired, (std::vector<UserId>{3}));
    EXPECT_TRUE(loaded->participants.product_owners.empty());
    ledger->transact(s.request.number, [&](RequestState& st) {
        st.participants.product_owners = {po.person.id};
        return Mutation{true, {}};
    });
    EXPECT_EQ(ledger->load(s.request.number)->participants.product_owners,
              (std::vector<UserId>{po.person.id}));
    EXPECT_EQ(ledger->load(s.request.number)->participants.drove.size(), 2u);
}

TEST_P(TokenLedger, AnAdminsAccountRemembersItsCreatorUntilASecondAdminConfirmsIt) {
    auto ada = ledger->create_user({"Ada Admin", "ada@example.com", Role::admin}, by(0));
    auto ben = ledger->create_user({"Ben Admin", "ben@example.com", Role::admin}, by(0));
    // datafix init and sign-ins (actor 0) make accounts nobody created.
    EXPECT_EQ(ada.person.created_by, 0);
    EXPECT_EQ(ledger->find_user(ada.person.id)->created_by, 0);

    std::optional<UserId> composed_for;
    auto made =
        ledger->create_user({"Fay Dev", "fay@example.com", Role::developer},
                            by(ada.person.id, at(3)), {}, [&](const Person& account) {
                                composed_for = account.id;
                                return std::vector<NewNotificationRow>{
                                    {"account-created", std::nullopt, "mail", "ben@example.com",
                                     "{\"subject\":\"s\",\"text\":\"t\",\"link\":\"\"}"}};
                            });
    EXPECT_EQ(made.person.created_by, ada.person.id);
    ASSERT_TRUE(composed_for.has_value());
    EXPECT_EQ(*composed_for, made.person.id);
    auto fay = ledger->authenticate(made.token);
    ASSERT_TRUE(fay.has_value());
    EXPECT_EQ(fay->created_by, ada.person.id);
    EXPECT_EQ(fay->confirmed_by, 0);
    auto queued = ledger->undelivered_notifications();
    ASSERT_EQ(queued.size(), 1u);
    EXPECT_EQ(queued[0].content.recipient, "ben@example.com");

    auto confirmed = ledger->confirm_user(made.person.id, by(ben.person.id, at(4)));
    ASSERT_TRUE(confirmed.has_value());
    EXPECT_EQ(confirmed->confirmed_by, ben.person.id);
    EXPECT_EQ(ledger->authenticate(made.token)->confirmed_by, ben.person.id);
    auto entries = ledger->read_audit({});
    EXPECT_EQ(entries.back().event.action, "user.confirmed");
    EXPECT_EQ(entries.back().event.actor, ben.person.id);
    EXPECT_NE(entries.back().event.detail.find("created_by=" + std::to_string(ada.person.id)),
              std::string::npos)
        << entries.back().event.detail;

    // Once only; never an account nobody created; never an unknown one. Each leaves no entry.
    const auto audited = entries.size();
    EXPECT_FALSE(ledger->confirm_user(made.person.id, by(ada.person.id, at(5))).has_value());
    EXPECT_EQ(ledger->find_user(made.person.id)->confirmed_by, ben.person.id);
    EXPECT_FALSE(ledger->confirm_user(ada.person.id, by(ben.person.id, at(5))).has_value());
    EXPECT_FALSE(ledger->confirm_user(999, by(ben.person.id, at(5))).has_value());
    EXPECT_EQ(ledger->read_audit({}).size(), audited);
}

DATAFIX_ON_EVERY_BACKEND(TokenLedger);

}  // namespace datafix::ledger::testing
