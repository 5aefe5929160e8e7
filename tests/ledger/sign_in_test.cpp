// Sign-in sessions in the ledger, on SQLite and on PostgreSQL: a pending sign-in is taken once
// (a replayed state gets nothing) and not after it expired; a session authenticates its person
// until it ends, expires or the person is deactivated; sign-in and sign-out are audited with
// kind, provider and identity, never with the token; the token is kept only as its hash.
#include <thread>

#include "ledger/migrations.hpp"
#include "ledger_fixture.hpp"

namespace datafix::ledger::testing {

namespace {

const std::string kProvider = "https://sso.example.com/realms/team";

PendingSignIn pending(const std::string& state, Time expires) {
    return PendingSignIn{state, "nonce-" + state, "verifier-" + state, "/requests/7", expires};
}

void sign_in_round_trip(Ledger& ledger, UserId person, const std::string& store_bytes_hint) {
    (void)store_bytes_hint;
    const Time now = wall_clock_now();
    ledger.begin_sign_in(pending("state-1", now + std::chrono::minutes(10)));
    ledger.begin_sign_in(pending("state-old", now - std::chrono::seconds(1)));
    auto taken = ledger.take_sign_in("state-1", now);
    ASSERT_TRUE(taken);
    EXPECT_EQ(taken->nonce, "nonce-state-1");
    EXPECT_EQ(taken->code_verifier, "verifier-state-1");
    EXPECT_EQ(taken->return_to, "/requests/7");
    EXPECT_FALSE(ledger.take_sign_in("state-1", now)) << "a replayed state is taken twice";
    EXPECT_FALSE(ledger.take_sign_in("state-old", now)) << "an expired sign-in is taken";
    EXPECT_FALSE(ledger.take_sign_in("never-issued", now));
    EXPECT_FALSE(ledger.take_sign_in("", now));

    NewSession s;
    s.person = person;
    s.kind = SessionKind::cli;
    s.provider = kProvider;
    s.identity = "email:dana@example.com";
    s.expires_at = now + std::chrono::hours(1);
    AuditEvent e = by(person, now);
    const std::string token = ledger.open_session(s, e);
    EXPECT_EQ(token.rfind("dfs_", 0), 0U);
    EXPECT_EQ(token.size(), 68U);
    auto found = ledger.authenticate_session(token);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->person.id, person);
    EXPECT_EQ(found->kind, SessionKind::cli);
    EXPECT_EQ(found->provider, kProvider);
    EXPECT_EQ(found->person.token_scope, TokenScope::full);
    EXPECT_EQ(found->person.token_expires_at, found->expires_at);
    EXPECT_EQ(found->person.token_issued_by, 0);
    EXPECT_FALSE(ledger.authenticate_session(token + "0"));
    EXPECT_FALSE(ledger.authenticate(token)) << "a session token is not a person's token";

    // A role from the provider's claim is the session's, not the person's.
    s.role = Role::admin;
    const std::string admin_session = ledger.open_session(s, e);
    EXPECT_EQ(ledger.authenticate_session(admin_session)->person.role, Role::admin);
    EXPECT_EQ(ledger.find_user(person)->role, Role::developer);

    EXPECT_TRUE(ledger.close_session(token, by(0, now)));
    EXPECT_FALSE(ledger.authenticate_session(token));
    EXPECT_FALSE(ledger.close_session(token, by(0, now))) << "ended twice";

    ASSERT_TRUE(ledger.set_user_active(person, false, by(0, now)));
    EXPECT_FALSE(ledger.authenticate_session(admin_session)) << "a deactivated person's session";

    AuditQuery q;
    auto entries = ledger.read_audit(q);
    int signed_in = 0;
    int signed_out = 0;
    for (const auto& entry : entries) {
        EXPECT_EQ(entry.event.detail.find(token), std::string::npos);
        EXPECT_EQ(entry.event.detail.find("verifier-"), std::string::npos);
        if (entry.event.action == "session.signed_in") {
            ++signed_in;
            EXPECT_NE(entry.event.detail.find("kind=cli provider=" + kProvider +
                                              " identity=email:dana@example.com"),
                      std::string::npos)
                << entry.event.detail;
        }
        if (entry.event.action == "session.signed_out") {
            ++signed_out;
            EXPECT_EQ(entry.event.actor, person);
            EXPECT_NE(entry.event.detail.find("kind=cli provider=" + kProvider +
                                              " identity=email:dana@example.com"),
                      std::string::npos)
                << entry.event.detail;
        }
    }
    EXPECT_EQ(signed_in, 2);
    EXPECT_EQ(signed_out, 1);
    EXPECT_TRUE(ledger.verify_audit().intact);
}

class SignInSessions : public LedgerTest {};

}  // namespace

TEST_P(SignInSessions, RoundTrip) {
    EXPECT_EQ(ledger->schema_version(), latest_schema_version());
    sign_in_round_trip(*ledger, dev.person.id, url);
    // Neither the token nor the PKCE verifier is stored in clear.
    EXPECT_EQ(stored_bytes().find("verifier-state"), std::string::npos);
}

// Someone created at their first sign-in has no role until an administrator gives one; the
// role is stored as written and every change is audited with the role before it.
TEST_P(SignInSessions, APersonWithNoRoleIsGivenOneAndTheChangeIsAudited) {
    IssuedToken olu = ledger->create_user({"Olu", "olu@example.com", Role::none}, by(0));
    EXPECT_EQ(ledger->find_user(olu.person.id)->role, Role::none);
    EXPECT_EQ(role_name(Role::none), "none");
    EXPECT_EQ(parse_role("none"), Role::none);
    EXPECT_TRUE(ledger->set_user_role(olu.person.id, Role::developer, by(1)));
    EXPECT_EQ(ledger->find_user(olu.person.id)->role, Role::developer);
    EXPECT_FALSE(ledger->set_user_role(999, Role::developer, by(1)));
    const auto entries = ledger->read_audit({});
    ASSERT_FALSE(entries.empty());
    EXPECT_EQ(entries.back().event.action, "user.role_changed");
    EXPECT_EQ(entries.back().event.detail,
              "user=" + std::to_string(olu.person.id) + " from=none role=developer");
    EXPECT_TRUE(ledger->verify_audit().intact);
}

DATAFIX_ON_EVERY_BACKEND(SignInSessions);

}  // namespace datafix::ledger::testing
