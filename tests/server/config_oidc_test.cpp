// [auth.oidc]: sign-in through an OpenID Connect provider. Values read as written, the client
// secret from a 0600 file or the environment (never the file itself), and every mistake naming
// its key.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "server/config.hpp"

namespace datafix::server {
namespace {

const char* kEnvironment =
    "[[environment]]\nname = \"dev\"\nconninfo = \"dbname=app\"\nrole = \"app_owner\"\n"
    "system_identifier = \"7301234567890123458\"\napprovals = [\"pair\"]\n";

const char* kBase =
    "[auth.oidc]\nissuer = \"https://sso.example.com/realms/team/\"\nclient_id = \"datafix\"\n"
    "client_secret_env = \"DATAFIX_CONFIG_TEST_SECRET\"\n"
    "public_url = \"https://datafix.example.com\"\n";

Config parse(const std::string& auth) {
    ::setenv("DATAFIX_CONFIG_TEST_SECRET", "fabricated-secret", 1);
    return Config::parse(std::string(kEnvironment) + auth, "datafix.toml", "/etc/datafix");
}

std::string refusal(const std::string& auth) {
    try {
        parse(auth);
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::config);
        return e.message();
    }
    ADD_FAILURE() << "accepted: " << auth;
    return {};
}

TEST(ConfigOidc, AbsentMeansTokensOnly) {
    EXPECT_FALSE(parse("").oidc);
}

TEST(ConfigOidc, AccountConfirmationIsOffByDefaultAndNeedsAProvider) {
    EXPECT_FALSE(parse("").workflow().confirm_accounts);
    EXPECT_FALSE(parse(kBase).workflow().confirm_accounts);
    EXPECT_TRUE(parse(std::string("[auth]\nconfirm_accounts = true\n") + kBase)
                    .workflow()
                    .confirm_accounts);
    const std::string without = refusal("[auth]\nconfirm_accounts = true\n");
    EXPECT_NE(without.find("auth.confirm_accounts"), std::string::npos) << without;
    EXPECT_NE(without.find("needs [auth.oidc]"), std::string::npos) << without;
    // Turning it off without a provider is fine.
    EXPECT_FALSE(parse("[auth]\nconfirm_accounts = false\n").workflow().confirm_accounts);
    const std::string typed = refusal("[auth]\nconfirm_accounts = \"yes\"\n");
    EXPECT_NE(typed.find("auth.confirm_accounts"), std::string::npos) << typed;
}

TEST(ConfigOidc, DefaultsAndValuesAreReadAsWritten) {
    auto oidc = parse(kBase).oidc;
    ASSERT_TRUE(oidc);
    EXPECT_EQ(oidc->issuer, "https://sso.example.com/realms/team");
    EXPECT_EQ(oidc->client_secret, "fabricated-secret");
    EXPECT_EQ(oidc->scopes, (std::vector<std::string>{"openid", "email", "profile"}));
    EXPECT_EQ(oidc->identity_claim, OidcIdentityClaim::email);
    EXPECT_EQ(oidc->roles_from, OidcRoleSource::people);
    EXPECT_EQ(oidc->unknown_people, OidcUnknownPeople::refuse);
    EXPECT_EQ(oidc->redirect_uri(), "https://datafix.example.com/auth/callback");
    EXPECT_TRUE(oidc->secure_cookie());

    auto claim = parse(std::string(kBase) +
                       "identity_claim = \"sub\"\nroles_from = \"claim\"\n"
                       "roles_claim = \"realm_access.roles\"\nunknown_people = \"create\"\n"
                       "session_lifetime = \"8h\"\nclock_skew = \"30s\"\n"
                       "scopes = [\"openid\", \"email\"]\n"
                       "[auth.oidc.role_map]\ndeveloper = [\"datafix-dev\"]\n"
                       "product_owner = [\"datafix-po\"]\nadmin = [\"datafix-admin\"]\n")
                     .oidc;
    ASSERT_TRUE(claim);
    EXPECT_EQ(claim->identity_claim, OidcIdentityClaim::sub);
    EXPECT_EQ(claim->roles_from, OidcRoleSource::claim);
    EXPECT_EQ(claim->roles_claim, "realm_access.roles");
    EXPECT_EQ(claim->role_map.at(model::Role::product_owner),
              std::vector<std::string>{"datafix-po"});
    EXPECT_EQ(claim->session_lifetime, std::chrono::hours(8));
    EXPECT_EQ(claim->clock_skew, std::chrono::seconds(30));

    // With roles from datafix's people, a created person has no role until an admin gives one.
    auto roleless = parse(std::string(kBase) + "unknown_people = \"create\"\n").oidc;
    ASSERT_TRUE(roleless);
    EXPECT_EQ(roleless->roles_from, OidcRoleSource::people);
    EXPECT_EQ(roleless->unknown_people, OidcUnknownPeople::create);
}

TEST(ConfigOidc, TheCookieIsSecureUnlessPublicUrlIsPlainHttpOnLoopback) {
    auto with_url = [](const std::string& url) {
        std::string text = kBase;
        text.replace(text.find("https://datafix.example.com"), 27, url);
        return *parse(text).oidc;
    };
    EXPECT_FALSE(with_url("http://127.0.0.1:8470").secure_cookie());
    EXPECT_FALSE(with_url("http://localhost:8470").secure_cookie());
    EXPECT_TRUE(with_url("https://127.0.0.1:8470").secure_cookie());
    EXPECT_EQ(with_url("http://127.0.0.1:8470/").public_origin(), "http://127.0.0.1:8470");
    EXPECT_NE(refusal(std::string(kBase).replace(std::string(kBase).find("https://datafix"), 8,
                                                 "http://")),
              "");
}

TEST(ConfigOidc, TheSecretComesFromAPrivateFile) {
    const std::string dir = testing::TempDir() + "oidc-secret";
    std::filesystem::create_directories(dir);
    const std::string file = dir + "/client-secret";
    std::ofstream(file) << "from-the-file\n";
    ::chmod(file.c_str(), 0600);
    std::string text = kBase;
    text.replace(text.find("client_secret_env = \"DATAFIX_CONFIG_TEST_SECRET\""),
                 std::string("client_secret_env = \"DATAFIX_CONFIG_TEST_SECRET\"").size(),
                 "client_secret_file = \"" + file + "\"");
    EXPECT_EQ(parse(text).oidc->client_secret, "from-the-file");
    ::chmod(file.c_str(), 0644);
    EXPECT_NE(refusal(text).find("auth.oidc.client_secret_file"), std::string::npos);
}

TEST(ConfigOidc, MistakesNameTheirKey) {
    EXPECT_NE(refusal("[auth.oidc]\nclient_id = \"datafix\"\n").find("auth.oidc.issuer"),
              std::string::npos);
    EXPECT_NE(refusal(std::string(kBase) + "issuer_url = \"x\"\n").find("auth.oidc.issuer_url"),
              std::string::npos);
    ::unsetenv("DATAFIX_CONFIG_TEST_UNSET");
    std::string unset = kBase;
    unset.replace(unset.find("DATAFIX_CONFIG_TEST_SECRET"), 26, "DATAFIX_CONFIG_TEST_UNSET");
    EXPECT_NE(refusal(unset).find("DATAFIX_CONFIG_TEST_UNSET is not set"), std::string::npos);
    EXPECT_NE(refusal(std::string(kBase) + "roles_from = \"claim\"\n").find("auth.oidc.role_map"),
              std::string::npos);
    EXPECT_NE(refusal(std::string(kBase) + "unknown_people = \"admit\"\n")
                  .find("auth.oidc.unknown_people"),
              std::string::npos);
    EXPECT_NE(refusal(std::string(kBase) + "scopes = [\"email\"]\n").find("auth.oidc.scopes"),
              std::string::npos);
    EXPECT_NE(refusal(std::string(kBase) + "[auth.oidc.role_map]\nowner = [\"x\"]\n")
                  .find("auth.oidc.role_map.owner"),
              std::string::npos);
    // "none" is what a created person has until an administrator gives a role, never a mapping.
    EXPECT_NE(refusal(std::string(kBase) + "roles_from = \"claim\"\n[auth.oidc.role_map]\n"
                                           "developer = [\"d\"]\nnone = [\"x\"]\n")
                  .find("auth.oidc.role_map.none"),
              std::string::npos);
    EXPECT_NE(refusal("[auth]\nsaml = 1\n").find("auth.saml"), std::string::npos);
}

}  // namespace
}  // namespace datafix::server
