// [environment.openshift] / [environment.kubernetes] in datafix.toml: read with discover's
// reader, every mistake an Error(config) naming its key.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "server/config.hpp"

namespace datafix::server {
namespace {

std::string environment(const std::string& conninfo, const std::string& section) {
    return "[[environment]]\nname = \"prod\"\nconninfo = \"" + conninfo +
           "\"\nrole = \"app_owner\"\nsystem_identifier = \"7301234567890123458\"\n"
           "approvals = [\"pair\"]\n" +
           section;
}

std::string refusal(const std::string& text) {
    try {
        Config::parse(text, "datafix.toml", "/etc/datafix");
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::config);
        return e.message();
    }
    ADD_FAILURE() << "accepted: " << text;
    return {};
}

TEST(ConfigPods, AnOpenShiftEnvironmentFindsItsLeaderByLabels) {
    Config c = Config::parse(environment("dbname=app user=datafix_login",
                                         "[environment.openshift]\nnamespace = \"ff61fb-prod\"\n"
                                         "cluster = \"ccbc\"\ntimeout = 12\n"),
                             "datafix.toml", "/etc/datafix");
    const auto& pods = c.environments.at(0).pods;
    ASSERT_TRUE(pods.has_value());
    EXPECT_EQ(pods->platform, discover::Platform::openshift);
    EXPECT_EQ(pods->namespace_name, "ff61fb-prod");
    EXPECT_EQ(discover::effective_selector(*pods),
              "postgres-operator.crunchydata.com/cluster=ccbc,"
              "postgres-operator.crunchydata.com/role=master");
    EXPECT_EQ(pods->timeout, std::chrono::seconds{12});
    EXPECT_EQ(pods->conninfo, "dbname=app user=datafix_login");
}

TEST(ConfigPods, AConninfoEnvironmentHasNoPodTarget) {
    Config c =
        Config::parse(environment("host=db1,db2 dbname=app target_session_attrs=read-write", ""),
                      "datafix.toml", "/etc/datafix");
    EXPECT_FALSE(c.environments.at(0).pods.has_value());
}

TEST(ConfigPods, MistakesNameTheirKey) {
    EXPECT_NE(
        refusal(environment("host=db1 dbname=app",
                            "[environment.kubernetes]\nnamespace = \"ns\"\ncluster = \"c\"\n"))
            .find("environment \"prod\".kubernetes"),
        std::string::npos);
    EXPECT_NE(refusal(environment("dbname=app",
                                  "[environment.openshift]\nnamespace = \"ns\"\n"
                                  "cluster = \"c\"\nnamspace = \"typo\"\n"))
                  .find("environment \"prod\".openshift.namspace"),
              std::string::npos);
    EXPECT_NE(refusal(environment("dbname=app", "[environment.openshift]\ncluster = \"c\"\n"))
                  .find("environment \"prod\".openshift.namespace"),
              std::string::npos);
    EXPECT_NE(refusal(environment("dbname=app",
                                  "[environment.openshift]\nnamespace = \"ns\"\ncluster = \"c\"\n"
                                  "[environment.kubernetes]\nnamespace = \"ns\"\ncluster = "
                                  "\"c\"\n"))
                  .find("both"),
              std::string::npos);
}

}  // namespace
}  // namespace datafix::server
