// The [environment.openshift] / [environment.kubernetes] table: defaults and refusals.
#include "discover/pod_target.hpp"

#include <gtest/gtest.h>
#include <toml++/toml.h>

#include "core/error.hpp"

namespace datafix::discover {
namespace {

PodTarget read(std::string_view toml_text, Platform platform = Platform::openshift,
               std::string conninfo = "dbname=ccbc user=datafix_login") {
    const toml::table table = toml::parse(toml_text);
    return read_pod_target(table, platform, std::move(conninfo),
                           "datafix.toml: environment[2].openshift", "prod");
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

std::string message_of(std::string_view toml_text) {
    try {
        read(toml_text);
    } catch (const Error& e) {
        return e.message() + " HINT: " + e.hint();
    }
    return "accepted";
}

TEST(PodTarget, EachEnvironmentNamesItsOwnKubeconfigAndContext) {
    const PodTarget t = read(R"(namespace = "ff61fb-test"
cluster = "ccbc"
kubeconfig = "/etc/datafix/kube/test.yaml"
context = "ff61fb-test/api-ocp-example:6443/datafix")");
    EXPECT_EQ(t.mode, AccessMode::client);
    EXPECT_EQ(t.kubeconfig, "/etc/datafix/kube/test.yaml");
    EXPECT_EQ(t.context, "ff61fb-test/api-ocp-example:6443/datafix");
    EXPECT_EQ(t.environment, "prod");
    EXPECT_NE(message_of(R"(namespace = "ff61fb-test"
cluster = "ccbc"
kubeconfig = "kube/test.yaml")")
                  .find("environment[2].openshift.kubeconfig: must be an absolute path"),
              std::string::npos);
    EXPECT_NE(message_of(R"(namespace = "ff61fb-test"
cluster = "ccbc"
context = "")")
                  .find("openshift.context: must name a context"),
              std::string::npos);
}

// KUBERNETES_SERVICE_HOST / _PORT set for the life of the object, as in a pod.
class InAPod {
  public:
    InAPod(const char* host, const char* port) {
        ::setenv("KUBERNETES_SERVICE_HOST", host, 1);
        ::setenv("KUBERNETES_SERVICE_PORT", port, 1);
    }
    ~InAPod() {
        ::unsetenv("KUBERNETES_SERVICE_HOST");
        ::unsetenv("KUBERNETES_SERVICE_PORT");
    }
};

TEST(PodTarget, InClusterModeFindsTheApiServerAndTheServiceAccount) {
    InAPod pod("172.30.0.1", "443");
    PodTarget t = read(R"(namespace = "ff61fb-prod"
cluster = "ccbc"
mode = "in-cluster")");
    EXPECT_EQ(t.mode, AccessMode::in_cluster);
    EXPECT_EQ(t.api_server, "https://172.30.0.1:443");
    EXPECT_EQ(t.service_account_dir, "/var/run/secrets/kubernetes.io/serviceaccount");
    t = read(R"(namespace = "ff61fb-prod"
cluster = "ccbc"
mode = "in-cluster"
service_account = "/run/datafix/sa")");
    EXPECT_EQ(t.service_account_dir, "/run/datafix/sa");
    InAPod ipv6("fd02::1", "443");
    EXPECT_EQ(read(R"(namespace = "ff61fb-prod"
cluster = "ccbc"
mode = "in-cluster")")
                  .api_server,
              "https://[fd02::1]:443");
}

TEST(PodTarget, InClusterModeOutsideAPodIsReadAndAsksAgainAtEachStep) {
    // `datafix init` and the CLI read the same file outside the pod.
    ::unsetenv("KUBERNETES_SERVICE_HOST");
    const PodTarget t = read(R"(namespace = "ff61fb-prod"
cluster = "ccbc"
mode = "in-cluster")");
    EXPECT_EQ(t.mode, AccessMode::in_cluster);
    EXPECT_EQ(t.api_server, "");
    try {
        api_server_from_environment("prod");
        ADD_FAILURE() << "no API server outside a pod";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::config);
        EXPECT_NE(e.message().find(
                      "environment prod: mode = \"in-cluster\" needs KUBERNETES_SERVICE_HOST"),
                  std::string::npos)
            << e.message();
        EXPECT_NE(e.hint().find("run the datafix server in a pod"), std::string::npos);
    }
}

TEST(PodTarget, KeysOfTheOtherModeAreRefused) {
    InAPod pod("172.30.0.1", "443");
    for (const char* key : {"client = \"oc\"", "kubeconfig = \"/k\"", "context = \"prod\""}) {
        const std::string m = message_of(std::string("namespace = \"ff61fb-prod\"\ncluster = "
                                                     "\"ccbc\"\nmode = \"in-cluster\"\n") +
                                         key);
        EXPECT_NE(m.find("is for mode = \"client\""), std::string::npos) << key << ": " << m;
    }
    EXPECT_NE(message_of(R"(namespace = "ff61fb-prod"
cluster = "ccbc"
service_account = "/run/sa")")
                  .find("openshift.service_account: is for mode = \"in-cluster\""),
              std::string::npos);
    EXPECT_NE(message_of(R"(namespace = "ff61fb-prod"
cluster = "ccbc"
mode = "incluster")")
                  .find("openshift.mode: \"incluster\" is not \"client\" or \"in-cluster\""),
              std::string::npos);
}

}  // namespace
}  // namespace datafix::discover
