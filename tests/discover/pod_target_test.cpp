// The [environment.openshift] / [environment.kubernetes] table: defaults and refusals.
#include "discover/pod_target.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace datafix::discover {
namespace {

PodTarget read(std::string_view toml_text, Platform platform = Platform::openshift,
               std::string conninfo = "dbname=ccbc user=datafix_login") {
    const toml::table table = toml::parse(toml_text);
    return read_pod_target(table, platform, std::move(conninfo),
                           "datafix.toml: environment[2].openshift");
}

ErrorCode code_of(std::string_view toml_text, std::string conninfo = "dbname=ccbc") {
    try {
        read(toml_text, Platform::openshift, std::move(conninfo));
    } catch (const Error& e) {
        return e.code();
    }
    return ErrorCode::ok;
}

TEST(PodTarget, DefaultsFollowTheRunbook) {
    const PodTarget t = read(R"(namespace = "ff61fb-prod"
cluster = "ccbc")");
    EXPECT_EQ(t.namespace_name, "ff61fb-prod");
    EXPECT_EQ(effective_selector(t),
              "postgres-operator.crunchydata.com/cluster=ccbc,"
              "postgres-operator.crunchydata.com/role=master");
    EXPECT_EQ(t.port, 5432);
    EXPECT_EQ(effective_client(t), "oc");
    EXPECT_EQ(t.timeout, std::chrono::seconds{30});
    EXPECT_EQ(t.conninfo, "dbname=ccbc user=datafix_login");
}

TEST(PodTarget, KubernetesUsesKubectl) {
    const PodTarget t = read(R"(namespace = "ccbc-prod"
cluster = "ccbc")",
                             Platform::kubernetes);
    EXPECT_EQ(effective_client(t), "kubectl");
    EXPECT_EQ(platform_name(t.platform), "kubernetes");
}

TEST(PodTarget, EveryKeyCanBeSet) {
    const PodTarget t = read(R"(namespace = "ff61fb-prod"
selector = "app=ccbc-db,role=leader"
port = 6432
client = "/opt/openshift/bin/oc"
timeout = 10)");
    EXPECT_EQ(effective_selector(t), "app=ccbc-db,role=leader");
    EXPECT_EQ(t.port, 6432);
    EXPECT_EQ(effective_client(t), "/opt/openshift/bin/oc");
    EXPECT_EQ(t.timeout, std::chrono::seconds{10});
}

TEST(PodTarget, MistakesAreConfigErrorsNamingTheKey) {
    EXPECT_EQ(code_of(R"(cluster = "ccbc")"), ErrorCode::config);           // no namespace
    EXPECT_EQ(code_of(R"(namespace = "ff61fb-prod")"), ErrorCode::config);  // no cluster
    EXPECT_EQ(code_of(R"(namespace = "FF61FB prod"
cluster = "ccbc")"),
              ErrorCode::config);
    EXPECT_EQ(code_of(R"(namespace = "ff61fb-prod"
cluster = "ccbc"
port = 70000)"),
              ErrorCode::config);
    EXPECT_EQ(code_of(R"(namespace = "ff61fb-prod"
cluster = "ccbc"
timeout = 0)"),
              ErrorCode::config);
    EXPECT_EQ(code_of(R"(namespace = "ff61fb-prod"
cluster = "ccbc"
port = "5432")"),
              ErrorCode::config);
    EXPECT_EQ(code_of(R"(namespace = "ff61fb-prod"
cluster = "ccbc")",
                      "host=db.example dbname=ccbc"),
              ErrorCode::config);
    try {
        read(R"(namespace = "ff61fb-prod"
cluster = "ccbc"
selecter = "role=master")");
        ADD_FAILURE() << "a misspelt key was accepted";
    } catch (const Error& e) {
        EXPECT_NE(e.message().find("environment[2].openshift.selecter: unknown key"),
                  std::string::npos)
            << e.message();
    }
}

}  // namespace
}  // namespace datafix::discover
