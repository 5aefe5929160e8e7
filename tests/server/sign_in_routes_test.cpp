// The sign-in routes (routes_auth.cpp) answered in-process against a real OpenID Connect provider
// (tests/oidc/provider.mjs on loopback, harness/oidc_provider.hpp): what a browser does at the
// provider's own login and consent pages is done here over HTTP with a cookie jar, so the
// authorization code, the state, the nonce and the ID token are the provider's. For each route:
// the status, the cookie and redirect a browser follows, the session's JSON, who may sign in and
// who may not, and for every refusal a clear rule and message, an audit entry and no session.
#include <gtest/gtest.h>

#include <httplib.h>

#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

#include "harness/oidc_provider.hpp"
#include "server/in_process_api.hpp"

namespace datafix::server {
namespace {

using in_process::Answer;
using in_process::expect_error;
using in_process::InProcessApi;
using nlohmann::json;

// Who can sign in at the provider: Dana and Omar are datafix's people (in_process_api.hpp), Zed is
// not, and Uma's provider vouches for no verified address.
const std::string kPeople =
    json::array({
                    {{"id", "dana"}, {"email", "dana@example.com"}, {"name", "Dana Dev"}},
                    {{"id", "omar"}, {"email", "omar@example.com"}, {"name", "Omar Dev"}},
                    {{"id", "zed"}, {"email", "zed@example.com"}, {"name", "Zed Unknown"}},
                    {{"id", "uma"},
                     {"email", "uma@example.com"},
                     {"email_verified", false},
                     {"name", "Uma Unverified"}},
                })
        .dump();

// The value of a query parameter in a URL ("" when absent); the values here are base64url.
std::string query_value(const std::string& url, const std::string& name) {
    const std::regex pattern("[?&]" + name + "=([^&]*)");
    std::smatch m;
    return std::regex_search(url, m, pattern) ? m[1].str() : std::string();
}

// A browser at the provider's pages: follows its redirects, keeps its cookies, answers its login
// page as `login` (the provider's development login takes any password) and its consent page.
class ProviderBrowser {
  public:
    explicit ProviderBrowser(std::string issuer) : issuer_(std::move(issuer)) {}

    // From the authorization URL datafix gave to where the provider sends the browser back
    // (datafix's callback with the code and the state).
    std::string sign_in(const std::string& authorization_url, const std::string& login) {
        return follow(get(authorization_url), login);
    }

    // The device grant's verification page: the code confirmed, then login and consent. True
    // when the provider says the sign-in succeeded.
    bool confirm_device(const std::string& verification_uri_complete, const std::string& login) {
        Hop page = get(verification_uri_complete);
        std::smatch xsrf;
        std::smatch code;
        const std::regex xsrf_input(R"re(name="xsrf" value="([^"]+)")re");
        const std::regex code_input(R"re(name="user_code" value="([^"]+)")re");
        if (!std::regex_search(page.body, xsrf, xsrf_input) ||
            !std::regex_search(page.body, code, code_input)) {
            ADD_FAILURE() << "no device form at the provider: " << page.body;
            return false;
        }
        Hop confirmed =
            post(issuer_ + "/device",
                 "xsrf=" + xsrf[1].str() + "&user_code=" + code[1].str() + "&confirm=yes");
        Hop last;
        follow(confirmed, login, &last);
        return last.status == 200 && last.body.find("Sign-in Success") != std::string::npos;
    }

  private:
    struct Hop {
        int status = 0;
        std::string location;
        std::string body;
    };

    // Follows redirects within the provider; its first page asks for the login, the second for
    // consent. Returns the first location outside the provider.
    std::string follow(Hop hop, const std::string& login, Hop* last = nullptr) {
        int interactions = 0;
        for (int hops = 0; hops < 12 && !hop.location.empty(); ++hops) {
            if (hop.location.rfind(issuer_ + "/", 0) != 0) {
                return hop.location;
            }
            if (hop.location.find("/interaction/") != std::string::npos) {
                hop = post(hop.location, interactions++ == 0
                                             ? "prompt=login&login=" + login + "&password=unused"
                                             : std::string("prompt=consent"));
            } else {
                hop = get(hop.location);
            }
        }
        if (last != nullptr) {
            *last = hop;
        }
        return {};
    }

    Hop get(const std::string& url) { return send("GET", url, ""); }
    Hop post(const std::string& url, const std::string& form) { return send("POST", url, form); }

    Hop send(const std::string& method, const std::string& url, const std::string& form) {
        const std::string absolute = url.rfind("http", 0) == 0 ? url : issuer_ + url;
        EXPECT_EQ(absolute.rfind(issuer_ + "/", 0), 0U) << absolute;
        const std::string path = absolute.substr(issuer_.size());
        httplib::Client client(issuer_);
        httplib::Headers headers;
        std::string cookies;
        for (const auto& [name, value] : jar_) {
            cookies += (cookies.empty() ? "" : "; ") + name + "=" + value;
        }
        if (!cookies.empty()) {
            headers.emplace("Cookie", cookies);
        }
        auto res = method == "GET"
                       ? client.Get(path, headers)
                       : client.Post(path, headers, form, "application/x-www-form-urlencoded");
        Hop hop;
        if (!res) {
            ADD_FAILURE() << method << " " << absolute << ": no answer from the provider";
            return hop;
        }
        for (auto it = res->headers.lower_bound("Set-Cookie");
             it != res->headers.upper_bound("Set-Cookie"); ++it) {
            const std::string pair = it->second.substr(0, it->second.find(';'));
            const auto eq = pair.find('=');
            jar_[pair.substr(0, eq)] = pair.substr(eq + 1);
        }
        hop.status = res->status;
        hop.location = res->get_header_value("Location");
        if (!hop.location.empty() && hop.location.front() == '/') {
            hop.location = issuer_ + hop.location;
        }
        hop.body = res->body;
        return hop;
    }

    std::string issuer_;
    std::map<std::string, std::string> jar_;
};

class SignInRoutes : public InProcessApi {
  protected:
    static void SetUpTestSuite() {
        ::setenv("DATAFIX_TEST_OIDC_SECRET", testing::kOidcClientSecret, 1);
        port_ = testing::free_loopback_port();
        if (testing::LoopbackOidcProvider::installed()) {
            provider_ = new testing::LoopbackOidcProvider(public_url() + "/auth/callback", kPeople);
        }
    }
    static void TearDownTestSuite() {
        delete provider_;
        provider_ = nullptr;
    }
    static std::string public_url() { return "http://127.0.0.1:" + std::to_string(port_); }

    void SetUp() override {
        if (provider_ == nullptr) {
            GTEST_SKIP() << "needs npm ci in tests/oidc";
        }
        ASSERT_FALSE(provider_->issuer().empty()) << "the provider did not start";
        InProcessApi::SetUp();
    }

    std::string config_text() const override {
        return std::string(in_process::kDevOnlyConfig) + "[auth.oidc]\nissuer = \"" +
               provider_->issuer() +
               "\"\nclient_id = \"datafix\"\nclient_secret_env = "
               "\"DATAFIX_TEST_OIDC_SECRET\"\npublic_url = \"" +
               public_url() + "\"\nscopes = [\"openid\", \"email\", \"profile\"]\n";
    }

    const std::string& issuer() const { return provider_->issuer(); }

    // GET /auth/login: the provider's authorization URL it redirects to.
    std::string begin(const std::string& return_to) {
        Answer a = call("GET", "/auth/login?return_to=" + return_to, "");
        EXPECT_EQ(a.status, 302) << a.body.dump();
        return a.header("Location");
    }

    // The browser's whole sign-in as `login`: the answer of datafix's callback.
    Answer sign_in(const std::string& login, const std::string& return_to = "/") {
        const std::string back = ProviderBrowser(issuer()).sign_in(begin(return_to), login);
        EXPECT_EQ(back.rfind(public_url() + "/auth/callback?", 0), 0U) << back;
        return callback(back);
    }
    Answer callback(const std::string& url_back) {
        return call("GET",
                    "/auth/callback?code=" + query_value(url_back, "code") +
                        "&state=" + query_value(url_back, "state"),
                    "");
    }

    // The session token in a Set-Cookie header ("" when it clears the cookie).
    static std::string session_of(const Answer& a) {
        std::smatch m;
        const std::string cookie = a.header("Set-Cookie");
        return std::regex_search(cookie, m, std::regex("^datafix_session=([^;]*);")) ? m[1].str()
                                                                                     : "";
    }
    static Headers with_cookie(const std::string& session, Headers more = {}) {
        more.emplace("Cookie", "datafix_session=" + session);
        return more;
    }

    std::vector<json> audit(const std::string& action) {
        std::vector<json> found;
        const Answer trail = call("GET", "/api/audit?limit=500", admin.token);
        EXPECT_EQ(trail.status, 200) << trail.body.dump();
        for (const json& e : trail.body["entries"]) {
            if (e.value("action", "") == action) {
                found.push_back(e);
            }
        }
        return found;
    }

    static int port_;
    static testing::LoopbackOidcProvider* provider_;
};

int SignInRoutes::port_ = 0;
testing::LoopbackOidcProvider* SignInRoutes::provider_ = nullptr;

TEST_F(SignInRoutes, TheSessionRouteOffersSignInAtTheProviderToAnyone) {
    Answer a = call("GET", "/auth/session", "");
    ASSERT_EQ(a.status, 200) << a.body.dump();
    EXPECT_EQ(a.content_type, "application/json");
    EXPECT_EQ(a.header("Cache-Control"), "no-store");
    EXPECT_EQ(a.body["oidc"], true);
    EXPECT_EQ(a.body["provider"], issuer());
    EXPECT_FALSE(a.body.contains("person")) << a.body.dump();
    EXPECT_FALSE(a.body.contains("csrf_token"));
}

TEST_F(SignInRoutes, LoginSendsTheBrowserToTheProviderWithPkceStateAndNonce) {
    Answer a = call("GET", "/auth/login?return_to=/requests/1", "");
    ASSERT_EQ(a.status, 302) << a.body.dump();
    EXPECT_EQ(a.header("Cache-Control"), "no-store");
    const std::string url = a.header("Location");
    EXPECT_EQ(url.rfind(issuer() + "/auth?", 0), 0U) << url;
    EXPECT_EQ(query_value(url, "client_id"), "datafix") << url;
    EXPECT_EQ(query_value(url, "response_type"), "code") << url;
    EXPECT_EQ(query_value(url, "code_challenge_method"), "S256") << url;
    EXPECT_EQ(query_value(url, "code_challenge").size(), 43U) << url;
    EXPECT_GE(query_value(url, "state").size(), 43U) << url;
    EXPECT_GE(query_value(url, "nonce").size(), 43U) << url;
    EXPECT_NE(url.find("redirect_uri=http%3A%2F%2F127.0.0.1%3A" + std::to_string(port_) +
                       "%2Fauth%2Fcallback"),
              std::string::npos)
        << url;
    // Every sign-in has its own state and nonce.
    const std::string again = begin("/");
    EXPECT_NE(query_value(again, "state"), query_value(url, "state"));
    EXPECT_NE(query_value(again, "nonce"), query_value(url, "nonce"));
}

TEST_F(SignInRoutes, ACompletedSignInSetsAnHttpOnlyCookieAndReturnsToTheDeepLink) {
    Answer a = sign_in("dana", "/requests/1");
    ASSERT_EQ(a.status, 303) << a.body.dump();
    EXPECT_EQ(a.header("Location"), "/requests/1");
    EXPECT_EQ(a.header("Cache-Control"), "no-store");
    const std::string cookie = a.header("Set-Cookie");
    const std::string session = session_of(a);
    EXPECT_EQ(session.rfind("dfs_", 0), 0U) << cookie;
    for (const char* attribute : {"; Path=/", "; HttpOnly", "; SameSite=Lax", "; Max-Age=43200"}) {
        EXPECT_NE(cookie.find(attribute), std::string::npos) << attribute << ": " << cookie;
    }
    // Plain http on a loopback host: a Secure cookie would never be sent back.
    EXPECT_EQ(cookie.find("Secure"), std::string::npos) << cookie;

    // The pages read who is signed in and the CSRF token that goes with the session.
    Answer s = call("GET", "/auth/session", "", "", with_cookie(session));
    ASSERT_EQ(s.status, 200) << s.body.dump();
    EXPECT_EQ(s.body["person"]["id"], dev.person.id) << s.body.dump();
    EXPECT_EQ(s.body["person"]["email"], "dana@example.com");
    EXPECT_EQ(s.body["person"]["role"], "developer");
    ASSERT_TRUE(s.body["csrf_token"].is_string());
    EXPECT_EQ(s.body["csrf_token"].get<std::string>().size(), 64U);
    // The cookie is a credential for the API, as Dana.
    Answer me = call("GET", "/api/me", "", "", with_cookie(session));
    ASSERT_EQ(me.status, 200) << me.body.dump();
    EXPECT_EQ(me.body["email"], "dana@example.com");

    auto signed_in = audit("session.signed_in");
    ASSERT_EQ(signed_in.size(), 1U);
    const std::string detail = signed_in[0].value("detail", "");
    EXPECT_NE(detail.find("provider=" + issuer()), std::string::npos) << detail;
    EXPECT_NE(detail.find("identity=email:dana@example.com"), std::string::npos) << detail;
    EXPECT_NE(detail.find("kind=browser"), std::string::npos) << detail;
    EXPECT_EQ(detail.find("dfs_"), std::string::npos) << "no token in the trail";
}

TEST_F(SignInRoutes, AReturnToOutsideThisServerGoesHome) {
    for (const std::string& elsewhere :
         {std::string("//evil.example/steal"), std::string("https://evil.example/steal"),
          std::string("/\\evil.example")}) {
        SCOPED_TRACE(elsewhere);
        Answer a = sign_in("dana", elsewhere);
        ASSERT_EQ(a.status, 303) << a.body.dump();
        EXPECT_EQ(a.header("Location"), "/");
    }
}

TEST_F(SignInRoutes, ACallbackIsTakenOnceAndAnUnknownOrDeclinedOneOpensNoSession) {
    const std::string back = ProviderBrowser(issuer()).sign_in(begin("/"), "dana");
    ASSERT_EQ(callback(back).status, 303);
    // The same redirect again (a replay, or the back button): its state was used.
    Answer replay = callback(back);
    expect_error(replay, 401, "unauthenticated", "sign-in-state");
    EXPECT_NE(replay.body["message"].get<std::string>().find("used already"), std::string::npos)
        << replay.body.dump();
    EXPECT_EQ(replay.body["hint"], "sign in again from the start");
    EXPECT_TRUE(session_of(replay).empty());

    expect_error(call("GET", "/auth/callback?code=abc&state=not-a-pending-sign-in", ""), 401,
                 "unauthenticated", "sign-in-state");
    // A pending sign-in whose redirect carries no code.
    const std::string state = query_value(begin("/"), "state");
    expect_error(call("GET", "/auth/callback?state=" + state, ""), 401, "unauthenticated",
                 "sign-in-code");
    // The person declined at the provider: its error is named.
    Answer declined = call("GET", "/auth/callback?error=access_denied&state=" + state, "");
    expect_error(declined, 401, "unauthenticated", "sign-in-declined");
    EXPECT_NE(declined.body["message"].get<std::string>().find("access_denied"), std::string::npos);

    EXPECT_EQ(audit("session.signed_in").size(), 1U) << "only the first callback signed in";
    std::string reasons;
    for (const json& e : audit("session.refused")) {
        reasons += e.value("detail", "") + "\n";
    }
    EXPECT_NE(reasons.find("reason=sign-in-state"), std::string::npos) << reasons;
    EXPECT_NE(reasons.find("reason=sign-in-code"), std::string::npos) << reasons;
}

TEST_F(SignInRoutes, OnlyKnownActivePeopleWithAVerifiedAddressSignIn) {
    ASSERT_EQ(
        call("POST", "/api/users/" + std::to_string(other.person.id) + "/deactivate", admin.token)
            .status,
        200);
    const struct {
        const char* login;
        const char* rule;
        const char* message;
    } refusals[] = {
        {"zed", "unknown-person", "datafix knows no person with your e-mail address"},
        {"uma", "email-unverified", "no verified e-mail address"},
        {"omar", "person-deactivated", "your datafix account is deactivated"},
    };
    for (const auto& r : refusals) {
        SCOPED_TRACE(r.login);
        Answer a = sign_in(r.login);
        expect_error(a, 401, "unauthenticated", r.rule);
        EXPECT_NE(a.body["message"].get<std::string>().find(r.message), std::string::npos)
            << a.body.dump();
        EXPECT_TRUE(session_of(a).empty());
    }
    // Nobody was created or signed in; each refusal is in the trail with its identity.
    EXPECT_EQ(call("GET", "/api/users", admin.token).body["users"].size(), 5U);
    EXPECT_TRUE(audit("session.signed_in").empty());
    std::string reasons;
    for (const json& e : audit("session.refused")) {
        reasons += e.value("detail", "") + "\n";
    }
    EXPECT_NE(reasons.find("reason=unknown-person identity=email:zed@example.com"),
              std::string::npos)
        << reasons;
    EXPECT_NE(reasons.find("reason=email-unverified"), std::string::npos) << reasons;
    EXPECT_NE(reasons.find("reason=person-deactivated identity=email:omar@example.com"),
              std::string::npos)
        << reasons;
}

TEST_F(SignInRoutes, LogoutNeedsTheSessionsCsrfTokenFromThisSiteAndEndsTheSession) {
    const std::string session = session_of(sign_in("dana"));
    ASSERT_FALSE(session.empty());
    const std::string csrf =
        call("GET", "/auth/session", "", "", with_cookie(session)).body["csrf_token"];

    // The cookie alone (a page of another site could make the browser send it) is refused.
    expect_error(call("POST", "/auth/logout", "", "", with_cookie(session)), 403, "forbidden",
                 "csrf-token");
    Answer origin =
        call("POST", "/auth/logout", "", "",
             with_cookie(session, {{"X-CSRF-Token", csrf}, {"Origin", "https://evil.example"}}));
    expect_error(origin, 403, "forbidden", "csrf-origin");
    EXPECT_NE(origin.body["message"].get<std::string>().find("https://evil.example"),
              std::string::npos);
    EXPECT_EQ(call("GET", "/api/me", "", "", with_cookie(session)).status, 200)
        << "the refused sign-outs ended nothing";
    EXPECT_TRUE(audit("session.signed_out").empty());

    Answer out = call("POST", "/auth/logout", "", "",
                      with_cookie(session, {{"X-CSRF-Token", csrf}, {"Origin", public_url()}}));
    ASSERT_EQ(out.status, 200) << out.body.dump();
    EXPECT_EQ(out.body["signed_out"], true);
    EXPECT_NE(out.header("Set-Cookie").find("datafix_session=; "), std::string::npos);
    EXPECT_NE(out.header("Set-Cookie").find("Max-Age=0"), std::string::npos);
    EXPECT_EQ(audit("session.signed_out").size(), 1U);

    // Ended on the server: the cookie is refused, and the session route tells the browser to
    // forget it.
    expect_error(call("GET", "/api/me", "", "", with_cookie(session)), 401, "unauthenticated",
                 "session-invalid");
    Answer after = call("GET", "/auth/session", "", "", with_cookie(session));
    EXPECT_EQ(after.status, 200);
    EXPECT_FALSE(after.body.contains("person")) << after.body.dump();
    EXPECT_NE(after.header("Set-Cookie").find("Max-Age=0"), std::string::npos);
    // With no session at all there is nothing to sign out of.
    expect_error(call("POST", "/auth/logout", "", ""), 401, "unauthenticated", "session-required");
    expect_error(call("POST", "/auth/logout", admin.token, ""), 401, "unauthenticated",
                 "session-required");
    EXPECT_EQ(call("GET", "/api/me", admin.token).status, 200)
        << "an administrator's token is no session and stays valid";
}

TEST_F(SignInRoutes, TheDeviceGrantGivesTheCliASessionTokenOnceThePersonConfirms) {
    Answer started = call("POST", "/api/auth/device", "");
    ASSERT_EQ(started.status, 200) << started.body.dump();
    const json& d = started.body;
    for (const char* key :
         {"device_code", "user_code", "verification_uri", "verification_uri_complete"}) {
        ASSERT_TRUE(d[key].is_string()) << key << ": " << d.dump();
    }
    EXPECT_TRUE(d["interval"].is_number_integer());
    EXPECT_TRUE(d["expires_in"].is_number_integer());
    EXPECT_EQ(d["verification_uri"].get<std::string>().rfind(issuer(), 0), 0U) << d.dump();

    ASSERT_TRUE(ProviderBrowser(issuer()).confirm_device(d["verification_uri_complete"], "dana"));
    Answer token =
        call("POST", "/api/auth/device/token", "", json{{"device_code", d["device_code"]}}.dump());
    ASSERT_EQ(token.status, 200) << token.body.dump();
    EXPECT_EQ(token.header("Cache-Control"), "no-store");
    EXPECT_EQ(token.body["person"]["email"], "dana@example.com");
    EXPECT_TRUE(token.body["expires_at"].is_string());
    const std::string session = token.body.value("token", "");
    ASSERT_EQ(session.rfind("dfs_", 0), 0U) << token.body.dump();
    // The CLI sends it as its bearer token.
    Answer me = call("GET", "/api/me", session);
    ASSERT_EQ(me.status, 200) << me.body.dump();
    EXPECT_EQ(me.body["id"], dev.person.id);
    auto signed_in = audit("session.signed_in");
    ASSERT_EQ(signed_in.size(), 1U);
    EXPECT_NE(signed_in[0].value("detail", "").find("kind=cli"), std::string::npos);

    // Signing out with that bearer token ends it (no CSRF token: it is no ambient credential).
    ASSERT_EQ(call("POST", "/auth/logout", session, "").status, 200);
    expect_error(call("GET", "/api/me", session), 401, "unauthenticated", "session-invalid");
}

TEST_F(SignInRoutes, ADevicePollIsPendingUntilConfirmedAndABadOneIsRefused) {
    Answer started = call("POST", "/api/auth/device", "");
    ASSERT_EQ(started.status, 200) << started.body.dump();
    Answer pending = call("POST", "/api/auth/device/token", "",
                          json{{"device_code", started.body["device_code"]}}.dump());
    EXPECT_EQ(pending.status, 202) << pending.body.dump();
    EXPECT_EQ(pending.body["status"], "pending");
    EXPECT_FALSE(pending.body.contains("token"));

    expect_error(call("POST", "/api/auth/device/token", "", "{}"), 400, "invalid_input",
                 "field-required");
    expect_error(call("POST", "/api/auth/device/token", "", "{not json"), 400, "invalid_input",
                 "malformed-json");
    Answer unknown = call("POST", "/api/auth/device/token", "",
                          json{{"device_code", "not-a-device-code"}}.dump());
    expect_error(unknown, 401, "unauthenticated", "sign-in-expired");
    EXPECT_NE(unknown.body["hint"].get<std::string>().find("datafix login"), std::string::npos);
    EXPECT_TRUE(audit("session.signed_in").empty());
}

// Without [auth.oidc] the server signs people in with tokens only.
using TokensOnly = InProcessApi;

TEST_F(TokensOnly, TheSignInRoutesSayThereIsNoProviderAndACookieMeansNothing) {
    Answer session = call("GET", "/auth/session", "");
    ASSERT_EQ(session.status, 200);
    EXPECT_EQ(session.body["oidc"], false);
    EXPECT_FALSE(session.body.contains("provider"));
    for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
             {"GET", "/auth/login?return_to=/"},
             {"GET", "/auth/callback?code=x&state=y"},
             {"POST", "/auth/logout"},
             {"POST", "/api/auth/device"},
             {"POST", "/api/auth/device/token"},
         }) {
        SCOPED_TRACE(method + " " + path);
        Answer a = call(method, path, "", json{{"device_code", "x"}}.dump());
        expect_error(a, 404, "not_found", "sign-in-not-configured");
        EXPECT_NE(a.body["hint"].get<std::string>().find("datafix login --token TOKEN"),
                  std::string::npos);
    }
    expect_error(call("GET", "/api/me", "", "", {{"Cookie", "datafix_session=dfs_0000"}}), 401,
                 "unauthenticated", "token-required");
}

}  // namespace
}  // namespace datafix::server
