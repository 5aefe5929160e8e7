// [environment.openshift] / [environment.kubernetes] in datafix.toml: read with discover's
// reader, every mistake an Error(config) naming its key.
#include <gtest/gtest.h>

#include <cstdlib>

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

std::string named_environment(const std::string& name, const std::string& section) {
    return "[[environment]]\nname = \"" + name +
           "\"\nconninfo = \"dbname=app user=datafix_login\"\nrole = \"app_owner\"\n"
           "system_identifier = \"7301234567890123458\"\napprovals = [\"pair\"]\n" +
           section + "\n";
}

TEST(ConfigPods, ThreeEnvironmentsNameThreeNamespacesAndTheirOwnContexts) {
    std::string text;
    for (const std::string env : {"dev", "test", "prod"}) {
        text += named_environment(env, "[environment.openshift]\nnamespace = \"ff61fb-" + env +
                                           "\"\ncluster = \"ccbc\"\nkubeconfig = "
                                           "\"/etc/datafix/kube/config\"\ncontext = \"" +
                                           env + "\"\n");
    }
    Config c = Config::parse(text, "datafix.toml", "/etc/datafix");
    ASSERT_EQ(c.environments.size(), 3u);
    for (const auto& env : c.environments) {
        ASSERT_TRUE(env.pods.has_value());
        EXPECT_EQ(env.pods->mode, discover::AccessMode::client);
        EXPECT_EQ(env.pods->environment, env.target.name);
        EXPECT_EQ(env.pods->namespace_name, "ff61fb-" + env.target.name);
        EXPECT_EQ(env.pods->context, env.target.name);
        EXPECT_EQ(env.pods->kubeconfig, "/etc/datafix/kube/config");
    }
}

TEST(ConfigPods, InClusterModeTakesTheApiServerFromThePodsVariables) {
    ::setenv("KUBERNETES_SERVICE_HOST", "172.30.0.1", 1);
    ::setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    Config c =
        Config::parse(named_environment("test",
                                        "[environment.openshift]\nnamespace = \"ff61fb-test\"\n"
                                        "cluster = \"ccbc\"\nmode = \"in-cluster\"\n"),
                      "datafix.toml", "/etc/datafix");
    ::unsetenv("KUBERNETES_SERVICE_HOST");
    ::unsetenv("KUBERNETES_SERVICE_PORT");
    ASSERT_TRUE(c.environments.at(0).pods.has_value());
    EXPECT_EQ(c.environments.at(0).pods->mode, discover::AccessMode::in_cluster);
    EXPECT_EQ(c.environments.at(0).pods->api_server, "https://172.30.0.1:443");
}

}  // namespace
}  // namespace datafix::server
