// An admin's own accounts cannot complete four eyes ([auth] confirm_accounts), through the real
// server and CLI: accounts an admin creates count for that admin until a second admin confirms
// them, and neither the creator nor an admin whose account the creator made may confirm. A
// second admin who signs in through the provider counts as themselves and may. (Signing in at a
// real provider is tests/web/oidc_test.cpp's; here the session its callback would open is opened
// with the ledger's own call, so no provider runs.)
#include <gtest/gtest.h>

#include "core/crypto.hpp"
#include "e2e/runbook_steps.hpp"
#include "ledger/ledger.hpp"
#include "ledger/sign_in.hpp"

namespace datafix::e2e {
namespace {

ServerOptions confirming() {
    ServerOptions o;
    // The provider is never asked: nobody signs in through it during this test.
    o.sections =
        "\n[auth]\nconfirm_accounts = true\n[auth.oidc]\nissuer = \"http://127.0.0.1:9\"\n"
        "client_id = \"datafix\"\nclient_secret_env = \"DATAFIX_TEST_ACCOUNTS_SECRET\"\n"
        "public_url = \"http://127.0.0.1:8080\"\n";
    ::setenv("DATAFIX_TEST_ACCOUNTS_SECRET", "fabricated-client-secret-for-tests", 1);
    return o;
}

long long id_of(ServerFixture& s, const std::string& token) {
    return s.get(token, "/api/me").body["id"].get<long long>();
}

// What the provider's sign-in callback writes for `person`: a session, returned as its token.
std::string provider_session(ServerFixture& s, long long person) {
    const Key key = Key::load_file(s.dir() + "/datafix.key");
    ledger::AuditKeying audit{Key::load_file(s.dir() + "/datafix-audit.key"), false};
    auto l = ledger::Ledger::open(s.dir() + "/datafix.db", key, &audit);
    ledger::NewSession session;
    session.person = person;
    session.kind = ledger::SessionKind::cli;
    session.provider = "http://127.0.0.1:9";
    session.identity = "email:ben@example.com";
    session.expires_at = model::wall_clock_now() + std::chrono::hours(1);
    model::AuditEvent event;
    event.at = model::wall_clock_now();
    event.actor = person;
    return l->open_session(session, event);
}

TEST(Accounts, AnAdminsOwnAccountsCannotCompleteFourEyesUntilASecondAdminConfirmsThem) {
    ServerFixture s(confirming());
    const Team t = make_team(s);  // all three made by the first admin
    const std::string ben = s.add_person("Ben Admin", "ben@example.com", "admin");
    const long long sam = id_of(s, t.sam);
    long long n = file_request(s, t);
    prepare(s, t, n);
    ASSERT_EQ(s.post(t.dana, env_path(n, "dev", "preview"), {}).status, 200);
    nlohmann::json st = state_of(s, t.sam, n);

    // Dana's steps counted for the admin who made her account, who also made Sam's.
    Answer refused =
        s.post(t.sam, env_path(n, "dev", "approve"),
               {{"revision_hash", revision_hash(st)}, {"fingerprint", fingerprint(st, "dev")}});
    expect_refused(s, t.sam, n, refused, 409);
    EXPECT_EQ(refused.body["rule"], "four-eyes-account-creator") << refused.body.dump();
    EXPECT_NE(refused.body["hint"].get<std::string>().find("datafix users confirm " +
                                                           std::to_string(sam)),
              std::string::npos)
        << refused.body.dump();
    EXPECT_EQ(state_of(s, t.sam, n)["approvals"].size(), 0U);

    // The creator cannot vouch for it, nor an admin whose account the creator made.
    auto by_creator = s.cli(s.admin_token(), {"users", "confirm", "sam@example.com"});
    EXPECT_NE(by_creator.status, 0);
    EXPECT_NE(by_creator.err.find("you created user " + std::to_string(sam)), std::string::npos)
        << by_creator.err;
    auto by_made = s.cli(ben, {"users", "confirm", std::to_string(sam)});
    EXPECT_NE(by_made.status, 0);
    EXPECT_NE(by_made.err.find("so you cannot confirm it"), std::string::npos) << by_made.err;
    // The answer is named: a range-for over a member of a temporary outlives the temporary.
    auto users = s.get(s.admin_token(), "/api/users");
    for (const auto& u : users.body["users"]) {
        if (u["id"] == sam) {
            EXPECT_TRUE(u["confirmed_by"].is_null()) << u.dump();
            EXPECT_FALSE(u["created_by"].is_null()) << u.dump();
        }
    }

    // Ben signed in through the provider is Ben alone, and confirms Sam's account.
    const std::string ben_session = provider_session(s, id_of(s, ben));
    Answer unknown = s.post(ben_session, "/api/users/999/confirm", nlohmann::json::object());
    EXPECT_EQ(unknown.status, 404) << unknown.body.dump();
    EXPECT_EQ(unknown.body["rule"], "user-not-found") << unknown.body.dump();
    EXPECT_NE(unknown.body["hint"].get<std::string>().find("datafix users list"), std::string::npos)
        << unknown.body.dump();
    auto confirmed = s.cli(ben_session, {"users", "confirm", "sam@example.com"});
    ASSERT_EQ(confirmed.status, 0) << confirmed.err;
    EXPECT_NE(confirmed.out.find("confirmed"), std::string::npos) << confirmed.out;
    auto again = s.cli(ben_session, {"users", "confirm", "sam@example.com"});
    EXPECT_NE(again.status, 0);
    EXPECT_NE(again.err.find("already"), std::string::npos) << again.err;

    // Now Sam counts as Sam: the same approval goes through.
    Answer approved =
        s.post(t.sam, env_path(n, "dev", "approve"),
               {{"revision_hash", revision_hash(st)}, {"fingerprint", fingerprint(st, "dev")}});
    EXPECT_EQ(approved.status, 200) << approved.body.dump();

    // Creation and confirmation are in the audit trail.
    bool created = false;
    bool confirmation = false;
    Answer audit = s.get(s.admin_token(), "/api/audit?limit=500");
    ASSERT_EQ(audit.status, 200) << audit.body.dump();
    const nlohmann::json entries =
        audit.body.contains("entries") ? audit.body["entries"] : audit.body;
    for (const auto& e : entries) {
        created = created || e.value("action", "") == "user.created";
        confirmation = confirmation || (e.value("action", "") == "user.confirmed" &&
                                        e.value("detail", "").find("user=" + std::to_string(sam)) !=
                                            std::string::npos);
    }
    EXPECT_TRUE(created);
    EXPECT_TRUE(confirmation);
}

TEST(Accounts, ConfirmationNeedsASignInProvider) {
    // Without one every account descends from the first admin: the server refuses to start.
    ServerOptions o;
    o.sections = "\n[auth]\nconfirm_accounts = true\n";
    try {
        ServerFixture s(o);
        FAIL() << "the server started";
    } catch (const std::exception& e) {
        EXPECT_NE(std::string(e.what()).find("auth.confirm_accounts"), std::string::npos)
            << e.what();
        EXPECT_NE(std::string(e.what()).find("needs [auth.oidc]"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace datafix::e2e
