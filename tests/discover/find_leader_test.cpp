// Leader discovery end to end, with the stand-in `oc`/`kubectl` (fake_cluster_client.py) in
// front of the harness's real PostgreSQL clusters: the pod datafix chooses is reached through a
// real TCP relay, and the system identifier proves which cluster answered.
#include "discover/leader.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <pqxx/pqxx>

#include "core/error.hpp"
#include "discover/fake_client.hpp"
#include "harness/pg_cluster.hpp"

namespace datafix::discover {
namespace {

using testing::fake_pod;
using testing::FakeClusterClient;
using testing::gone_within;

const std::string kNamespace = "ff61fb-prod";
const std::string kLogin = "dbname=app user=datafix_login password=datafix-test-password";

struct Identity {
    bool in_recovery = true;
    std::string system_identifier;
};

Identity identify(const std::string& conninfo) {
    pqxx::connection conn(conninfo);
    pqxx::nontransaction tx(conn);
    const pqxx::row row =
        tx.exec1("SELECT pg_is_in_recovery(), system_identifier::text FROM pg_control_system()");
    return {row[0].as<bool>(), row[1].as<std::string>()};
}

class FindLeader : public ::testing::Test {
  protected:
    void SetUp() override {
        auto& clusters = datafix::testing::SampleClusters::get();
        prod_port_ = clusters.prod().port();
        replica_port_ = clusters.prod_replica().port();
        prod_id_ = clusters.prod().system_identifier();
        fake_.set("DATAFIX_FAKE_PROJECT", kNamespace);
        target_.platform = Platform::openshift;
        target_.namespace_name = kNamespace;
        target_.cluster = "ccbc";
        target_.conninfo = kLogin;
        target_.timeout = std::chrono::seconds{20};
        target_.search_path = fake_.bin_dir();
    }

    // The usual PGO layout: a leader and a replica, each pod standing for one local cluster.
    std::string leader_and_replica() const {
        return fake_pod("ccbc-instance1-q8vz-0", kNamespace, "Running", true, "master",
                        prod_port_) +
               ";" +
               fake_pod("ccbc-instance1-m2xw-0", kNamespace, "Running", true, "replica",
                        replica_port_);
    }

    Error refusal() {
        try {
            find_leader(target_);
        } catch (const Error& e) {
            return e;
        }
        ADD_FAILURE() << "find_leader did not refuse";
        return Error(ErrorCode::ok, "");
    }

    FakeClusterClient fake_;
    PodTarget target_;
    int prod_port_ = 0;
    int replica_port_ = 0;
    std::string prod_id_;
};

TEST_F(FindLeader, OneLeaderIsReachedThroughTheForwardAsTheLoginRole) {
    fake_.set("DATAFIX_FAKE_PODS", leader_and_replica());
    int group = -1;
    int forward_pid = -1;
    {
        ReachedLeader leader = find_leader(target_);
        EXPECT_EQ(leader.pod().name, "ccbc-instance1-q8vz-0");
        EXPECT_NE(leader.conninfo().find("host=127.0.0.1 port="), std::string::npos);
        const Identity who = identify(leader.conninfo());
        EXPECT_FALSE(who.in_recovery);
        EXPECT_EQ(who.system_identifier, prod_id_);
        pqxx::connection conn(leader.conninfo());
        pqxx::nontransaction tx(conn);
        EXPECT_EQ(tx.exec1("SELECT current_user")[0].as<std::string>(), "datafix_login");
        group = leader.forward().process_group();
        forward_pid = fake_.forward_pid();
        EXPECT_TRUE(leader.forward().alive());
    }
    // The runbook's commands, each naming the namespace; never the client's current project.
    const auto calls = fake_.invocations();
    ASSERT_EQ(calls.size(), 2u);
    EXPECT_EQ(calls[0],
              "oc -n ff61fb-prod get pods -l "
              "postgres-operator.crunchydata.com/cluster=ccbc,"
              "postgres-operator.crunchydata.com/role=master -o json");
    EXPECT_EQ(calls[1].rfind("oc -n ff61fb-prod port-forward --address 127.0.0.1 "
                             "pod/ccbc-instance1-q8vz-0 ",
                             0),
              0u)
        << calls[1];
    // Out of scope: the forward and its process group are gone (and reaped).
    EXPECT_TRUE(gone_within(forward_pid, std::chrono::milliseconds(100)));
    EXPECT_TRUE(gone_within(-group, std::chrono::milliseconds(100)));
}

TEST_F(FindLeader, TheClientIsFoundOnThePathOfTheProcess) {
    fake_.set("DATAFIX_FAKE_PODS", leader_and_replica());
    const std::string old_path = std::getenv("PATH");
    ::setenv("PATH", (fake_.bin_dir() + ":" + old_path).c_str(), 1);
    target_.search_path.clear();
    try {
        ReachedLeader leader = find_leader(target_);
        EXPECT_EQ(identify(leader.conninfo()).system_identifier, prod_id_);
    } catch (...) {
        ::setenv("PATH", old_path.c_str(), 1);
        throw;
    }
    ::setenv("PATH", old_path.c_str(), 1);
}

TEST_F(FindLeader, KubernetesRunsKubectlWithTheNamespace) {
    fake_.set("DATAFIX_FAKE_PODS", leader_and_replica());
    ::unsetenv("DATAFIX_FAKE_PROJECT");  // a context without a namespace is no obstacle
    target_.platform = Platform::kubernetes;
    ReachedLeader leader = find_leader(target_);
    EXPECT_EQ(identify(leader.conninfo()).system_identifier, prod_id_);
    EXPECT_EQ(fake_.invocations().at(0).rfind("kubectl -n ff61fb-prod get pods -l ", 0), 0u);
}

TEST_F(FindLeader, TheClientsCurrentProjectIsNeverConsulted) {
    fake_.set("DATAFIX_FAKE_PODS", leader_and_replica());
    fake_.set("DATAFIX_FAKE_PROJECT", "ff61fb-dev");
    ReachedLeader leader = find_leader(target_);
    EXPECT_EQ(identify(leader.conninfo()).system_identifier, prod_id_);
    for (const auto& call : fake_.invocations()) {
        EXPECT_EQ(call.find("project"), std::string::npos) << call;
        EXPECT_NE(call.find(" -n ff61fb-prod "), std::string::npos) << call;
    }
}

TEST_F(FindLeader, NoLeaderIsRefused) {
    fake_.set("DATAFIX_FAKE_PODS", fake_pod("ccbc-instance1-m2xw-0", kNamespace, "Running", true,
                                            "replica", replica_port_));
    const Error e = refusal();
    EXPECT_EQ(e.code(), ErrorCode::target_refused);
    EXPECT_NE(e.message().find("no pod matches namespace ff61fb-prod"), std::string::npos);
    EXPECT_FALSE(e.hint().empty());
    EXPECT_EQ(fake_.invocations().size(), 1u);  // never a port-forward
}

TEST_F(FindLeader, TwoLeadersAreRefusedNamingBoth) {
    fake_.set("DATAFIX_FAKE_PODS",
              fake_pod("ccbc-instance1-q8vz-0", kNamespace, "Running", true, "master", prod_port_) +
                  ";" +
                  fake_pod("ccbc-instance1-m2xw-0", kNamespace, "Running", true, "master",
                           replica_port_));
    const Error e = refusal();
    EXPECT_EQ(e.code(), ErrorCode::target_refused);
    EXPECT_NE(e.message().find("2 running, ready pods"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("ccbc-instance1-q8vz-0"), std::string::npos);
    EXPECT_NE(e.message().find("ccbc-instance1-m2xw-0"), std::string::npos);
}

TEST_F(FindLeader, ALeaderThatIsNotReadyIsRefused) {
    fake_.set("DATAFIX_FAKE_PODS", fake_pod("ccbc-instance1-q8vz-0", kNamespace, "Running", false,
                                            "master", prod_port_));
    const Error e = refusal();
    EXPECT_EQ(e.code(), ErrorCode::target_refused);
    EXPECT_NE(e.message().find("ccbc-instance1-q8vz-0 (Running, not ready)"), std::string::npos)
        << e.message();
}

TEST_F(FindLeader, ATerminatingOldLeaderBesideANewOneIsNotChosen) {
    fake_.set("DATAFIX_FAKE_PODS", fake_pod("ccbc-instance1-m2xw-0", kNamespace, "Running", true,
                                            "master", replica_port_, /*terminating=*/true) +
                                       ";" +
                                       fake_pod("ccbc-instance1-q8vz-0", kNamespace, "Running",
                                                true, "master", prod_port_));
    ReachedLeader leader = find_leader(target_);
    EXPECT_EQ(leader.pod().name, "ccbc-instance1-q8vz-0");
    EXPECT_FALSE(identify(leader.conninfo()).in_recovery);
}

TEST_F(FindLeader, APodOfAnotherNamespaceIsRefused) {
    fake_.set("DATAFIX_FAKE_IGNORE_NAMESPACE", "1");
    fake_.set("DATAFIX_FAKE_PODS", fake_pod("ccbc-instance1-t4rr-0", "ff61fb-test", "Running", true,
                                            "master", prod_port_));
    const Error e = refusal();
    EXPECT_EQ(e.code(), ErrorCode::target_refused);
    EXPECT_NE(e.message().find("of namespace \"ff61fb-test\""), std::string::npos) << e.message();
}

// One kubeconfig with a context per environment, its current context another environment's:
// each environment's login sees only its own namespace, as RBAC would have it.
class FindLeaderWithContexts : public FindLeader {
  protected:
    void SetUp() override {
        FindLeader::SetUp();
        kubeconfig_ = fake_.file("kubeconfig");
        std::ofstream(kubeconfig_) << R"({"apiVersion": "v1", "kind": "Config",
  "clusters": [{"name": "apps-ocp", "cluster": {"server": "https://api.ocp.example:6443"}}],
  "users": [{"name": "datafix-dev", "user": {}}, {"name": "datafix-prod", "user": {}}],
  "contexts": [
    {"name": "dev", "context": {"cluster": "apps-ocp", "namespace": "ff61fb-dev", "user": "datafix-dev"}},
    {"name": "prod", "context": {"cluster": "apps-ocp", "namespace": "ff61fb-prod", "user": "datafix-prod"}}],
  "current-context": "dev"})";
        fake_.set("DATAFIX_FAKE_CONTEXT_NAMESPACES", "dev=ff61fb-dev,prod=ff61fb-prod");
        fake_.set("DATAFIX_FAKE_PROJECT", "ff61fb-dev");
        fake_.set("DATAFIX_FAKE_PODS", leader_and_replica());
        target_.kubeconfig = kubeconfig_;
    }
    std::string kubeconfig_;
};

TEST_F(FindLeaderWithContexts, TheEnvironmentsKubeconfigAndContextAreOnEveryCommand) {
    target_.context = "prod";
    {
        ReachedLeader leader = find_leader(target_);
        EXPECT_EQ(identify(leader.conninfo()).system_identifier, prod_id_);
    }
    const auto calls = fake_.invocations();
    ASSERT_EQ(calls.size(), 2u);
    const std::string start = "oc --kubeconfig " + kubeconfig_ + " --context prod -n ff61fb-prod ";
    EXPECT_EQ(calls[0].rfind(start + "get pods -l ", 0), 0u) << calls[0];
    EXPECT_EQ(calls[1].rfind(start + "port-forward ", 0), 0u) << calls[1];
}

TEST_F(FindLeaderWithContexts, WithoutAContextTheKubeconfigsCurrentContextIsUsedAndQuoted) {
    const Error e = refusal();
    EXPECT_EQ(e.code(), ErrorCode::unreachable);
    EXPECT_NE(e.message().find("User \"datafix-dev\" cannot list resource \"pods\""),
              std::string::npos)
        << e.message();
    EXPECT_NE(e.hint().find("oc --kubeconfig " + kubeconfig_ + " whoami"), std::string::npos)
        << e.hint();
}

TEST_F(FindLeaderWithContexts, AContextTheKubeconfigLacksIsQuoted) {
    target_.context = "staging";
    target_.environment = "prod";
    const Error e = refusal();
    EXPECT_EQ(e.code(), ErrorCode::unreachable);
    EXPECT_NE(e.message().find("environment prod: "), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("context \"staging\" does not exist"), std::string::npos)
        << e.message();
    EXPECT_NE(e.hint().find("--context staging whoami"), std::string::npos) << e.hint();
}

TEST_F(FindLeader, AMissingClientIsAConfigError) {
    target_.search_path = fake_.file("empty-bin");
    const Error e = refusal();
    EXPECT_EQ(e.code(), ErrorCode::config);
    EXPECT_NE(e.message().find("\"oc\" was not found"), std::string::npos);
    target_.client = fake_.file("no/such/oc");
    EXPECT_EQ(refusal().code(), ErrorCode::config);
}

TEST_F(FindLeader, AFailingClientIsQuoted) {
    fake_.set("DATAFIX_FAKE_GET_ERROR",
              "error: You must be logged in to the server (Unauthorized)");
    const Error e = refusal();
    EXPECT_EQ(e.code(), ErrorCode::unreachable);
    EXPECT_NE(e.message().find("get pods"), std::string::npos);
    EXPECT_NE(e.message().find("(Unauthorized)"), std::string::npos) << e.message();
    EXPECT_NE(e.hint().find("oc whoami"), std::string::npos);
}

TEST_F(FindLeader, APortForwardThatCannotStartIsQuoted) {
    fake_.set("DATAFIX_FAKE_PODS", leader_and_replica());
    fake_.set(
        "DATAFIX_FAKE_FORWARD_ERROR",
        "error: error upgrading connection: pods \"ccbc-instance1-q8vz-0\" is forbidden: User "
        "\"system:serviceaccount:ff61fb-prod:datafix\" cannot create resource "
        "\"pods/portforward\"");
    const Error e = refusal();
    EXPECT_EQ(e.code(), ErrorCode::unreachable);
    EXPECT_NE(e.message().find("ended before it accepted connections (exit status 1)"),
              std::string::npos)
        << e.message();
    EXPECT_NE(e.message().find("cannot create resource \"pods/portforward\""), std::string::npos);
    EXPECT_NE(e.hint().find("oc auth can-i create pods/portforward -n ff61fb-prod"),
              std::string::npos);
}

TEST_F(FindLeader, AClientThatDoesNotAnswerIsCutAtTheTimeout) {
    fake_.set("DATAFIX_FAKE_GET_HANG", "1");
    target_.timeout = std::chrono::milliseconds{1500};
    const auto started = std::chrono::steady_clock::now();
    const Error e = refusal();
    EXPECT_EQ(e.code(), ErrorCode::unreachable);
    EXPECT_NE(e.message().find("did not answer within 1500 ms"), std::string::npos) << e.message();
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds{10});
}

TEST_F(FindLeader, APortForwardThatNeverListensIsStoppedAtTheTimeout) {
    fake_.set("DATAFIX_FAKE_PODS", leader_and_replica());
    fake_.set("DATAFIX_FAKE_FORWARD_HANG", "1");
    target_.timeout = std::chrono::milliseconds{2000};
    const Error e = refusal();
    EXPECT_EQ(e.code(), ErrorCode::unreachable);
    EXPECT_NE(e.message().find("did not accept connections within 2000 ms"), std::string::npos)
        << e.message();
    // The hanging client was killed and reaped.
    const int forward_pid = fake_.forward_pid();
    EXPECT_GT(forward_pid, 0);
    EXPECT_FALSE(testing::process_exists(forward_pid));
}

TEST_F(FindLeader, ALocalPortTakenMeanwhileIsRetriedOnAnother) {
    fake_.set("DATAFIX_FAKE_PODS", leader_and_replica());
    fake_.set("DATAFIX_FAKE_PORT_TAKEN_ONCE", fake_.file("port-taken"));
    ReachedLeader leader = find_leader(target_);
    EXPECT_EQ(identify(leader.conninfo()).system_identifier, prod_id_);
    int forwards = 0;
    for (const auto& call : fake_.invocations()) {
        forwards += call.find(" port-forward ") != std::string::npos ? 1 : 0;
    }
    EXPECT_EQ(forwards, 2);
}

}  // namespace
}  // namespace datafix::discover
