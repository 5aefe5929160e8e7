// Sign-in through a real OpenID Connect provider: npm's oidc-provider (tests/oidc/provider.mjs)
// on loopback, a real `datafix server` configured with [auth.oidc] (e2e fixture), and
// tests/web/oidc.test.mjs driving headless Chromium through the provider's own pages. Each browser
// phase's checks are in the script; here: the server's state, audit trail and log around them.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "e2e/runbook_steps.hpp"
#include "harness/oidc_provider.hpp"
#include "harness/process.hpp"

namespace datafix::e2e {

namespace {

const std::string kSource = DATAFIX_SOURCE_DIR;
const std::string kSecret = testing::kOidcClientSecret;

// Who can sign in at the provider.
const std::string kPeople =
    nlohmann::json::array(
        {
            {{"id", "priya"}, {"email", "priya@example.com"}, {"name", "Priya Owner"}},
            {{"id", "dana"}, {"email", "dana@example.com"}, {"name", "Dana Driver"}},
            {{"id", "sam"}, {"email", "sam@example.com"}, {"name", "Sam Pair"}},
            {{"id", "olu"}, {"email", "olu@example.com"}, {"name", "Olu Outsider"}},
        })
        .dump();

bool available() {
    return std::filesystem::exists("/usr/bin/chromium") &&
           std::filesystem::exists(kSource + "/tests/web/node_modules/playwright-core") &&
           testing::LoopbackOidcProvider::installed();
}

struct SignInSetup {
    int port = testing::free_loopback_port();
    std::string public_url = "http://127.0.0.1:" + std::to_string(port);
    testing::LoopbackOidcProvider provider{public_url + "/auth/callback", kPeople};

    ServerOptions options() const {
        // The client secret reaches the server (and `datafix init`) through the environment.
        ::setenv("DATAFIX_TEST_OIDC_SECRET", kSecret.c_str(), 1);
        ServerOptions o;
        o.port = port;
        o.sections = "\n[auth.oidc]\nissuer = \"" + provider.issuer() +
                     "\"\nclient_id = \"datafix\"\nclient_secret_env = "
                     "\"DATAFIX_TEST_OIDC_SECRET\"\npublic_url = \"" +
                     public_url + "\"\nscopes = [\"openid\", \"email\", \"profile\"]\n";
        return o;
    }
};

testing::ProcessResult run_script(const std::string& phase, const std::vector<std::string>& vars) {
    std::vector<std::string> argv{"env"};
    argv.insert(argv.end(), vars.begin(), vars.end());
    argv.push_back("node");
    argv.push_back(kSource + "/tests/web/oidc.test.mjs");
    argv.push_back(phase);
    return testing::run_process(argv);
}

nlohmann::json audit_entries(ServerFixture& s) {
    Answer a = s.get(s.admin_token(), "/api/audit?limit=500");
    EXPECT_EQ(a.status, 200) << a.body.dump();
    return a.body.contains("entries") ? a.body["entries"] : a.body;
}

std::vector<nlohmann::json> entries_with(const nlohmann::json& entries, const std::string& action) {
    std::vector<nlohmann::json> found;
    for (const auto& e : entries) {
        if (e.value("action", "") == action) {
            found.push_back(e);
        }
    }
    return found;
}

// No session token and no ID token (a JWT starts with base64url "{"...: "eyJ") in the log.
void expect_no_tokens_in(const std::string& log) {
    EXPECT_EQ(log.find("dfs_"), std::string::npos);
    EXPECT_EQ(log.find("eyJ"), std::string::npos);
    EXPECT_EQ(log.find(kSecret), std::string::npos);
}

}  // namespace

TEST(OidcSignIn, ProductOwnerFollowsADeepLinkSignsInAtTheProviderAndApprovesProd) {
    if (!available()) {
        GTEST_SKIP() << "needs /usr/bin/chromium and npm ci in tests/web and tests/oidc";
    }
    SignInSetup setup;
    ASSERT_FALSE(setup.provider.issuer().empty());
    ServerFixture s(setup.options());
    Team t = make_team(s);  // tokens keep working next to the provider
    long long n = file_request(s, t);
    prepare(s, t, n);
    promote(s, t, n, "dev");
    promote(s, t, n, "test");
    EXPECT_FALSE(state_of(s, t.po, n)["progress"]["product_owner_approved"].get<bool>());

    auto po = run_script("po", {"DATAFIX_URL=" + s.url(), "OIDC_ISSUER=" + setup.provider.issuer(),
                                "DATAFIX_REQUEST=" + std::to_string(n)});
    ASSERT_EQ(po.status, 0) << po.out << po.err;

    nlohmann::json st = state_of(s, t.po, n);
    EXPECT_TRUE(st["progress"]["product_owner_approved"].get<bool>()) << st.dump();
    bool by_priya = false;
    for (const auto& a : st["approvals"]) {
        by_priya = by_priya || (a["kind"] == "product_owner" &&
                                a["approved_by"]["email"] == "priya@example.com");
    }
    EXPECT_TRUE(by_priya) << st["approvals"].dump();

    auto entries = audit_entries(s);
    auto signed_in = entries_with(entries, "session.signed_in");
    ASSERT_EQ(signed_in.size(), 1U) << entries.dump();
    const std::string detail = signed_in[0].value("detail", "");
    EXPECT_NE(detail.find("provider=" + setup.provider.issuer()), std::string::npos) << detail;
    EXPECT_NE(detail.find("identity=email:priya@example.com"), std::string::npos) << detail;
    EXPECT_NE(detail.find("kind=browser"), std::string::npos) << detail;
    auto signed_out = entries_with(entries, "session.signed_out");
    ASSERT_EQ(signed_out.size(), 1U);
    EXPECT_NE(signed_out[0].value("detail", "").find("identity=email:priya@example.com"),
              std::string::npos)
        << signed_out[0].dump();
    expect_no_tokens_in(s.server_log());
    EXPECT_EQ(entries.dump().find("dfs_"), std::string::npos);
}

TEST(OidcSignIn, ForgedExpiredWrongAudienceAndReplayedSignInsAreRefused) {
    if (!available()) {
        GTEST_SKIP() << "needs /usr/bin/chromium and npm ci in tests/web and tests/oidc";
    }
    SignInSetup setup;
    ServerFixture s(setup.options());
    make_team(s);
    auto refusals = run_script(
        "refusals", {"DATAFIX_URL=" + s.url(), "OIDC_ISSUER=" + setup.provider.issuer()});
    ASSERT_EQ(refusals.status, 0) << refusals.out << refusals.err;
    auto entries = audit_entries(s);
    // Six bad ID tokens, the replayed state and the unknown person; one genuine sign-in.
    auto refused = entries_with(entries, "session.refused");
    EXPECT_EQ(refused.size(), 8U) << entries.dump();
    std::string reasons;
    for (const auto& e : refused) {
        reasons += e.value("detail", "") + "\n";
    }
    for (const char* reason :
         {"reason=id-token-expired", "reason=id-token-audience", "reason=id-token-issuer",
          "reason=id-token-signature", "reason=id-token-algorithm", "reason=sign-in-state",
          "reason=unknown-person"}) {
        EXPECT_NE(reasons.find(reason), std::string::npos) << reason << "\n" << reasons;
    }
    EXPECT_NE(reasons.find("identity=email:olu@example.com"), std::string::npos) << reasons;
    EXPECT_EQ(entries_with(entries, "session.signed_in").size(), 1U);
    // Nobody was created for the unknown person.
    Answer users = s.get(s.admin_token(), "/api/users");
    EXPECT_EQ(users.body.dump().find("olu@example.com"), std::string::npos);
    expect_no_tokens_in(s.server_log());
}

TEST(OidcSignIn, SignInStillWorksAfterTheProviderRotatesItsKeys) {
    if (!available()) {
        GTEST_SKIP() << "needs /usr/bin/chromium and npm ci in tests/web and tests/oidc";
    }
    SignInSetup setup;
    ServerFixture s(setup.options());
    make_team(s);
    auto rotate =
        run_script("rotate", {"DATAFIX_URL=" + s.url(), "OIDC_ISSUER=" + setup.provider.issuer()});
    ASSERT_EQ(rotate.status, 0) << rotate.out << rotate.err;
    EXPECT_EQ(entries_with(audit_entries(s), "session.signed_in").size(), 3U);
    // The key set was fetched again when a token named a key the server did not hold.
    const std::string log = s.server_log();
    std::size_t fetches = 0;
    for (auto at = log.find("signing keys"); at != std::string::npos;
         at = log.find("signing keys", at + 1)) {
        ++fetches;
    }
    EXPECT_EQ(fetches, 2U) << log;
}

TEST(OidcSignIn, TheCliSignsInWithTheDeviceGrantAndStoresItsSession0600) {
    if (!available()) {
        GTEST_SKIP() << "needs /usr/bin/chromium and npm ci in tests/web and tests/oidc";
    }
    SignInSetup setup;
    ServerFixture s(setup.options());
    Team t = make_team(s);
    long long n = file_request(s, t);
    const std::string home = s.dir() + "/home";
    std::filesystem::create_directories(home);
    auto device = run_script(
        "device", {"DATAFIX_URL=" + s.url(), "OIDC_ISSUER=" + setup.provider.issuer(),
                   "DATAFIX_BINARY=" + std::string(DATAFIX_BINARY), "DATAFIX_LOGIN_HOME=" + home});
    ASSERT_EQ(device.status, 0) << device.out << device.err;

    const std::string credentials = home + "/.config/datafix/credentials";
    struct stat st {};
    ASSERT_EQ(::stat(credentials.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600);
    const std::string stored = read_file(credentials);
    EXPECT_NE(stored.find("token = dfs_"), std::string::npos);

    // Later verbs use the stored session: no DATAFIX_TOKEN.
    auto show =
        testing::run_process({"env", "-u", "DATAFIX_TOKEN", "-u", "XDG_CONFIG_HOME", "HOME=" + home,
                              DATAFIX_BINARY, "show", std::to_string(n), "--output", "json"});
    ASSERT_EQ(show.status, 0) << show.out << show.err;
    auto signed_in = entries_with(audit_entries(s), "session.signed_in");
    ASSERT_EQ(signed_in.size(), 1U);
    EXPECT_NE(signed_in[0].value("detail", "").find("kind=cli"), std::string::npos);
    expect_no_tokens_in(s.server_log());
}

namespace {

// The datafix binary as someone whose only credential is what `datafix login` stored in `home`.
testing::ProcessResult datafix_at_home(const std::string& home, std::vector<std::string> args) {
    std::vector<std::string> argv{"env",
                                  "-u",
                                  "DATAFIX_TOKEN",
                                  "-u",
                                  "DATAFIX_SERVER",
                                  "-u",
                                  "XDG_CONFIG_HOME",
                                  "HOME=" + home,
                                  DATAFIX_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::run_process(argv);
}

// The stored session token of `datafix login` in `home`.
std::string stored_token(const std::string& home) {
    const std::string stored = read_file(home + "/.config/datafix/credentials");
    const auto at = stored.find("token = ");
    if (at == std::string::npos) {
        return {};
    }
    return stored.substr(at + 8, stored.find('\n', at) - at - 8);
}

// `datafix login` with the device grant, confirmed at the provider as `login`.
testing::ProcessResult device_login(ServerFixture& s, const SignInSetup& setup,
                                    const std::string& home, const std::string& login,
                                    const std::string& expect) {
    std::filesystem::create_directories(home);
    return run_script(
        "device", {"DATAFIX_URL=" + s.url(), "OIDC_ISSUER=" + setup.provider.issuer(),
                   "DATAFIX_BINARY=" + std::string(DATAFIX_BINARY), "DATAFIX_LOGIN_HOME=" + home,
                   "DATAFIX_LOGIN_AS=" + login, "DATAFIX_LOGIN_EXPECT=" + expect});
}

std::string clock_file(const SignInSetup& setup) {
    return (std::filesystem::temp_directory_path() /
            ("datafix-test-clock-" + std::to_string(::getpid()) + "-" + std::to_string(setup.port)))
        .string();
}

}  // namespace

TEST(OidcSignIn, LogoutEndsTheCliSessionOnTheServerAndRemovesItsCredentials) {
    if (!available()) {
        GTEST_SKIP() << "needs /usr/bin/chromium and npm ci in tests/web and tests/oidc";
    }
    SignInSetup setup;
    ServerFixture s(setup.options());
    make_team(s);
    const std::string home = s.dir() + "/home";
    auto login = device_login(s, setup, home, "dana", "signed in as Dana Driver \\(developer\\)");
    ASSERT_EQ(login.status, 0) << login.out << login.err;
    const std::string credentials = home + "/.config/datafix/credentials";
    const std::string token = stored_token(home);
    ASSERT_EQ(token.rfind("dfs_", 0), 0U);
    ASSERT_EQ(s.get(token, "/api/me").status, 200);

    auto out = datafix_at_home(home, {"logout"});
    ASSERT_EQ(out.status, 0) << out.out << out.err;
    EXPECT_NE(out.out.find("signed out of " + s.url() + ": the session is ended"),
              std::string::npos)
        << out.out;
    EXPECT_FALSE(std::filesystem::exists(credentials));
    // The session is ended on the server, not only forgotten here.
    Answer after = s.get(token, "/api/me");
    EXPECT_EQ(after.status, 401);
    EXPECT_EQ(after.body["rule"], "session-invalid") << after.body.dump();
    auto signed_out = entries_with(audit_entries(s), "session.signed_out");
    ASSERT_EQ(signed_out.size(), 1U);
    const std::string detail = signed_out[0].value("detail", "");
    EXPECT_NE(detail.find("kind=cli"), std::string::npos) << detail;
    EXPECT_NE(detail.find("identity=email:dana@example.com"), std::string::npos) << detail;

    // Signing out again says there is nothing to sign out of; later verbs have no token.
    auto again = datafix_at_home(home, {"logout"});
    EXPECT_EQ(again.status, 0) << again.err;
    EXPECT_NE(again.out.find("not signed in: there are no stored credentials in " + credentials),
              std::string::npos)
        << again.out;
    auto json = datafix_at_home(home, {"logout", "--output", "json"});
    EXPECT_EQ(nlohmann::json::parse(json.out)["outcome"], "not-signed-in") << json.out;
    auto show = datafix_at_home(home, {"inbox"});
    EXPECT_NE(show.status, 0);
    EXPECT_NE(show.err.find("no token"), std::string::npos) << show.err;
    EXPECT_EQ(entries_with(audit_entries(s), "session.signed_out").size(), 1U);

    // A token an administrator issued is forgotten here and stays valid on the server.
    ASSERT_EQ(
        datafix_at_home(home, {"login", "--server", s.url(), "--token", s.admin_token()}).status,
        0);
    auto forget = datafix_at_home(home, {"logout"});
    EXPECT_EQ(forget.status, 0) << forget.err;
    EXPECT_NE(forget.out.find("the token itself stays valid"), std::string::npos) << forget.out;
    EXPECT_FALSE(std::filesystem::exists(credentials));
    EXPECT_EQ(s.get(s.admin_token(), "/api/me").status, 200);
    expect_no_tokens_in(s.server_log());
}

TEST(OidcSignIn, ExpiredSessionsAreRefusedWithAHintToSignInAgain) {
    if (!available()) {
        GTEST_SKIP() << "needs /usr/bin/chromium and npm ci in tests/web and tests/oidc";
    }
    SignInSetup setup;
    const std::string clock = clock_file(setup);
    std::filesystem::remove(clock);
    ServerOptions options = setup.options();
    options.server_env["DATAFIX_TEST_CLOCK"] = clock;
    ServerFixture s(options);
    Team t = make_team(s);
    long long n = file_request(s, t);
    const std::string home = s.dir() + "/home";
    auto login = device_login(s, setup, home, "dana", "signed in as Dana Driver \\(developer\\)");
    ASSERT_EQ(login.status, 0) << login.out << login.err;
    const std::string token = stored_token(home);
    ASSERT_EQ(datafix_at_home(home, {"show", std::to_string(n)}).status, 0);
    const auto version = state_of(s, t.po, n)["version"];

    // The browser: signed in, then the server's clock moves 40 days (the file the script
    // writes), past both the browser's 12 hours and the CLI's 30 days.
    auto expiry = run_script(
        "expiry", {"DATAFIX_URL=" + s.url(), "OIDC_ISSUER=" + setup.provider.issuer(),
                   "DATAFIX_TEST_CLOCK_FILE=" + clock, "DATAFIX_REQUEST=" + std::to_string(n)});
    ASSERT_EQ(expiry.status, 0) << expiry.out << expiry.err;
    // The expired cookie's comment changed nothing.
    EXPECT_EQ(state_of(s, t.po, n)["version"], version);

    // The CLI's session expired too: refused with the time and the verb to sign in again.
    auto show = datafix_at_home(home, {"show", std::to_string(n)});
    EXPECT_NE(show.status, 0);
    EXPECT_NE(show.err.find("your sign-in session expired at "), std::string::npos) << show.err;
    EXPECT_NE(show.err.find("HINT: sign in again with datafix login"), std::string::npos)
        << show.err;
    Answer me = s.get(token, "/api/me");
    EXPECT_EQ(me.status, 401);
    EXPECT_EQ(me.body["rule"], "session-expired") << me.body.dump();
    // Signing out of an expired session removes its credentials and says so.
    auto out = datafix_at_home(home, {"logout"});
    EXPECT_EQ(out.status, 0) << out.err;
    EXPECT_NE(out.out.find("the session had already ended (your sign-in session expired at"),
              std::string::npos)
        << out.out;
    EXPECT_FALSE(std::filesystem::exists(home + "/.config/datafix/credentials"));
    // Tokens from an administrator live 90 days: they still act 40 days later.
    EXPECT_EQ(s.get(t.po, "/api/me").status, 200);
    EXPECT_EQ(entries_with(audit_entries(s), "session.signed_in").size(), 3U);
    std::filesystem::remove(clock);
    expect_no_tokens_in(s.server_log());
}

TEST(OidcSignIn, SomeoneCreatedWithNoRoleReadsWhatConcernsThemUntilAnAdminGivesThemARole) {
    if (!available()) {
        GTEST_SKIP() << "needs /usr/bin/chromium and npm ci in tests/web and tests/oidc";
    }
    SignInSetup setup;
    ServerOptions options = setup.options();
    options.sections += "unknown_people = \"create\"\n";
    ServerFixture s(options);
    Team t = make_team(s);
    long long n = file_request(s, t);

    // Olu is known to the provider, not to datafix: created with no role at the first sign-in.
    const std::string home = s.dir() + "/home";
    auto login = device_login(s, setup, home, "olu",
                              "signed in as Olu Outsider \\(no role yet: ask an administrator to "
                              "give you one\\)");
    ASSERT_EQ(login.status, 0) << login.out << login.err;
    const std::string olu = stored_token(home);
    auto entries = audit_entries(s);
    auto created = entries_with(entries, "user.created");
    ASSERT_FALSE(created.empty());
    EXPECT_NE(created.back().value("detail", "").find("role=none"), std::string::npos)
        << created.back().dump();
    auto signed_in = entries_with(entries, "session.signed_in");
    ASSERT_EQ(signed_in.size(), 1U);
    EXPECT_NE(signed_in[0].value("detail", "").find("identity=email:olu@example.com"),
              std::string::npos);
    Answer me = s.get(olu, "/api/me");
    ASSERT_EQ(me.status, 200) << me.body.dump();
    EXPECT_EQ(me.body["role"], "none");
    const std::string olu_id = std::to_string(me.body["id"].get<long long>());

    // Their inbox, with nothing of others' in it; no other request, no list, no step.
    auto inbox = datafix_at_home(home, {"inbox", "--output", "json"});
    ASSERT_EQ(inbox.status, 0) << inbox.err;
    auto listed = nlohmann::json::parse(inbox.out);
    EXPECT_TRUE(listed["open"].empty()) << inbox.out;
    EXPECT_TRUE(listed["yours"].empty()) << inbox.out;
    Answer other = s.get(olu, req(n));
    EXPECT_EQ(other.status, 403);
    EXPECT_EQ(other.body["rule"], "no-role");
    EXPECT_NE(other.body["message"].get<std::string>().find("not a member"), std::string::npos)
        << other.body.dump();
    EXPECT_EQ(s.get(olu, "/api/requests").status, 403);
    EXPECT_EQ(s.get(olu, "/api/audit").status, 403);
    auto filed = datafix_at_home(home, {"request", "--title", "from someone with no role",
                                        "--reason", "fabricated", "--for", "priya@example.com"});
    EXPECT_NE(filed.status, 0);
    EXPECT_NE(filed.err.find("you have no datafix role yet, so you cannot take steps"),
              std::string::npos)
        << filed.err;
    EXPECT_NE(filed.err.find("HINT: ask an administrator to give you a role (datafix users "
                             "set-role EMAIL ROLE)"),
              std::string::npos)
        << filed.err;
    EXPECT_EQ(s.get(t.po, "/api/requests").body["requests"].size(), 1U);
    // The pages: signed in, at home, and the same refusal when they file.
    auto pages = run_script("roleless",
                            {"DATAFIX_URL=" + s.url(), "OIDC_ISSUER=" + setup.provider.issuer()});
    ASSERT_EQ(pages.status, 0) << pages.out << pages.err;

    // Only an administrator gives a role, never to themselves; it is audited.
    auto by_dana = s.cli(t.dana, {"users", "set-role", "olu@example.com", "developer"});
    EXPECT_NE(by_dana.status, 0);
    EXPECT_NE(by_dana.err.find("only an admin manages people"), std::string::npos) << by_dana.err;
    Answer admin = s.get(s.admin_token(), "/api/me");
    Answer self =
        s.post(s.admin_token(),
               "/api/users/" + std::to_string(admin.body["id"].get<long long>()) + "/role",
               {{"role", "none"}});
    EXPECT_EQ(self.body["rule"], "self-role") << self.body.dump();
    auto given = s.cli(s.admin_token(), {"users", "set-role", "olu@example.com", "developer"});
    ASSERT_EQ(given.status, 0) << given.err;
    EXPECT_NE(given.out.find("olu@example.com: role developer"), std::string::npos) << given.out;
    auto changed = entries_with(audit_entries(s), "user.role_changed");
    ASSERT_EQ(changed.size(), 1U);
    EXPECT_NE(changed[0].value("detail", "").find("user=" + olu_id + " from=none role=developer"),
              std::string::npos)
        << changed[0].dump();

    // As a developer (the same session: roles come from datafix's people) Olu pairs on the
    // request; then the role is taken again.
    ASSERT_EQ(s.post(t.dana, req(n, "/claim"), {}).status, 200);
    Answer paired = s.post(olu, req(n, "/pair"), {});
    ASSERT_EQ(paired.status, 200) << paired.body.dump();
    ASSERT_EQ(s.cli(s.admin_token(), {"users", "set-role", olu_id, "none"}).status, 0);

    // A member now: the request reads, the inbox lists it; every step is still refused.
    EXPECT_EQ(s.get(olu, req(n)).status, 200);
    EXPECT_EQ(s.get(olu, req(n, "/timeline")).status, 200);
    auto show = datafix_at_home(home, {"show", std::to_string(n)});
    EXPECT_EQ(show.status, 0) << show.err;
    auto member_inbox =
        nlohmann::json::parse(datafix_at_home(home, {"inbox", "--output", "json"}).out);
    ASSERT_EQ(member_inbox["yours"].size(), 1U) << member_inbox.dump();
    EXPECT_EQ(member_inbox["open"].size(), 1U) << member_inbox.dump();
    const auto version = state_of(s, t.po, n)["version"];
    Answer leave = s.post(olu, req(n, "/leave"), {});
    EXPECT_EQ(leave.status, 403);
    EXPECT_EQ(leave.body["rule"], "no-role");
    EXPECT_EQ(leave.body["hint"],
              "ask an administrator to give you a role (datafix users set-role EMAIL ROLE)");
    EXPECT_EQ(state_of(s, t.po, n)["version"], version);
    expect_no_tokens_in(s.server_log());
}

}  // namespace datafix::e2e

namespace datafix::e2e {

TEST(OidcSignIn, WithoutAProviderTheServerSignsInWithTokensOnly) {
    ServerFixture s;
    httplib::Client client(s.url());
    auto session = client.Get("/auth/session");
    ASSERT_TRUE(session);
    EXPECT_EQ(nlohmann::json::parse(session->body)["oidc"], false);
    auto login = client.Get("/auth/login?return_to=/requests/1");
    ASSERT_TRUE(login);
    EXPECT_EQ(login->status, 404);
    EXPECT_EQ(nlohmann::json::parse(login->body)["rule"], "sign-in-not-configured");
    // A session cookie means nothing here: no ambient credential without [auth.oidc].
    auto me = client.Get("/api/me", {{"Cookie", "datafix_session=dfs_0000"}});
    ASSERT_TRUE(me);
    EXPECT_EQ(me->status, 401);
    EXPECT_EQ(nlohmann::json::parse(me->body)["rule"], "token-required");

    const std::string home = s.dir() + "/home";
    std::filesystem::create_directories(home);
    auto cli = testing::run_process({"env", "-u", "DATAFIX_TOKEN", "-u", "XDG_CONFIG_HOME",
                                     "HOME=" + home, DATAFIX_BINARY, "login", "--server", s.url()});
    EXPECT_NE(cli.status, 0);
    EXPECT_NE(cli.err.find("this server signs people in with tokens only"), std::string::npos)
        << cli.err;
    EXPECT_NE(cli.err.find("HINT: use datafix login --token"), std::string::npos) << cli.err;
    EXPECT_FALSE(std::filesystem::exists(home + "/.config/datafix/credentials"));

    // --token works as before.
    auto with_token = testing::run_process({"env", "-u", "DATAFIX_TOKEN", "-u", "XDG_CONFIG_HOME",
                                            "HOME=" + home, DATAFIX_BINARY, "login", "--server",
                                            s.url(), "--token", s.admin_token()});
    ASSERT_EQ(with_token.status, 0) << with_token.err;
    EXPECT_NE(with_token.out.find("token stored in"), std::string::npos) << with_token.out;
}

}  // namespace datafix::e2e
