// In-cluster leader discovery against the stand-in Kubernetes API (fake_kube_api.py: real HTTPS
// with a CA made by the test, real PodList and Status JSON) in front of the harness's real
// PostgreSQL clusters. The pod IP is a loopback address where a harness cluster listens, so the
// conninfo datafix builds is used for a real connection, and the system identifier proves which
// cluster answered. No cluster client exists on the search path.
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "core/error.hpp"
#include "discover/fake_kube_api.hpp"
#include "discover/kube_api.hpp"
#include "discover/leader.hpp"
#include "harness/pg_cluster.hpp"

namespace datafix::discover {
namespace {

using testing::FakeKubeApi;

const std::string kNamespace = "ff61fb-prod";
const std::string kLogin = "dbname=app user=datafix_login password=datafix-test-password";
const std::string kSelector =
    "postgres-operator.crunchydata.com/cluster=ccbc,postgres-operator.crunchydata.com/role=master";

struct Identity {
    bool in_recovery = true;
    std::string system_identifier;
    std::string server_address;
};

Identity identify(const std::string& conninfo) {
    pqxx::connection conn(conninfo);
    pqxx::nontransaction tx(conn);
    const pqxx::row row = tx.exec1(
        "SELECT pg_is_in_recovery(), system_identifier::text, host(inet_server_addr()) FROM "
        "pg_control_system()");
    return {row[0].as<bool>(), row[1].as<std::string>(), row[2].as<std::string>()};
}

class InCluster : public ::testing::Test {
  protected:
    void SetUp() override {
        auto& clusters = datafix::testing::SampleClusters::get();
        prod_port_ = clusters.prod().port();
        prod_id_ = clusters.prod().system_identifier();
        target_.platform = Platform::openshift;
        target_.mode = AccessMode::in_cluster;
        target_.environment = "prod";
        target_.namespace_name = kNamespace;
        target_.cluster = "ccbc";
        target_.conninfo = kLogin;
        target_.port = prod_port_;
        target_.timeout = std::chrono::seconds{20};
        target_.service_account_dir = api_.service_account_dir();
        target_.api_server = api_.api_server();
        // Nothing to run: in-cluster discovery must never look for oc or kubectl.
        target_.search_path = api_.file("no-such-bin");
        target_.client = "/no/such/oc";
    }

    // The usual PGO layout: the leader and a replica, both in the namespace.
    nlohmann::json leader_and_replica() const {
        return {FakeKubeApi::pod("ccbc-instance1-q8vz-0", kNamespace, "master", "127.0.0.1"),
                FakeKubeApi::pod("ccbc-instance1-m2xw-0", kNamespace, "replica", "127.0.0.9")};
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

    FakeKubeApi api_;
    PodTarget target_;
    int prod_port_ = 0;
    std::string prod_id_;
};

TEST_F(InCluster, TheLeaderIsReachedAtItsPodIpWithoutAClientOrAForward) {
    api_.set_pods(leader_and_replica());
    ReachedLeader leader = find_leader(target_);
    EXPECT_EQ(leader.pod().name, "ccbc-instance1-q8vz-0");
    EXPECT_EQ(leader.pod().pod_ip, "127.0.0.1");
    EXPECT_FALSE(leader.has_forward());
    EXPECT_NE(leader.conninfo().find("host=127.0.0.1 port=" + std::to_string(prod_port_)),
              std::string::npos)
        << leader.conninfo();
    const Identity who = identify(leader.conninfo());
    EXPECT_FALSE(who.in_recovery);
    EXPECT_EQ(who.system_identifier, prod_id_);

    // One GET of the pod list, with the PGO leader selector, the valid token, no watch.
    const auto requests = api_.requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0]["method"], "GET");
    EXPECT_EQ(requests[0]["path"], "/api/v1/namespaces/ff61fb-prod/pods");
    EXPECT_EQ(requests[0]["query"]["labelSelector"][0], kSelector);
    EXPECT_FALSE(requests[0]["query"].contains("watch"));
    EXPECT_TRUE(requests[0]["token_ok"].get<bool>());
}

TEST_F(InCluster, EveryCallListsAgainAndFollowsASwitchover) {
    // A real switchover: a primary on one loopback address and its streaming replica on another,
    // the same port, as two pods of one PGO cluster.
    auto primary = datafix::testing::PgCluster::create("in-cluster-a", {"127.0.0.2", 0});
    datafix::testing::load_sample_schema(*primary);
    auto replica = primary->create_replica("in-cluster-b", {"127.0.0.3", primary->port()});
    target_.port = primary->port();
    const std::string pin = primary->system_identifier();
    api_.set_pods({FakeKubeApi::pod("ccbc-instance1-a-0", kNamespace, "master", "127.0.0.2"),
                   FakeKubeApi::pod("ccbc-instance1-b-0", kNamespace, "replica", "127.0.0.3")});
    {
        ReachedLeader before = find_leader(target_);
        EXPECT_EQ(before.pod().name, "ccbc-instance1-a-0");
        const Identity who = identify(before.conninfo());
        EXPECT_FALSE(who.in_recovery);
        EXPECT_EQ(who.server_address, "127.0.0.2");
    }

    primary->stop();
    replica->promote();
    api_.set_pods(
        {FakeKubeApi::pod("ccbc-instance1-a-0", kNamespace, "replica", "127.0.0.2", false),
         FakeKubeApi::pod("ccbc-instance1-b-0", kNamespace, "master", "127.0.0.3")});
    ReachedLeader after = find_leader(target_);
    EXPECT_EQ(after.pod().name, "ccbc-instance1-b-0");
    const Identity who = identify(after.conninfo());
    EXPECT_FALSE(who.in_recovery) << "the promoted replica is the primary now";
    EXPECT_EQ(who.server_address, "127.0.0.3");
    EXPECT_EQ(who.system_identifier, pin) << "a physical replica shares the identifier";
    EXPECT_EQ(api_.requests().size(), 2u) << "one list per call, no watch";
}

TEST_F(InCluster, ARotatedTokenIsReadAgainAtTheNextCall) {
    api_.set_pods(leader_and_replica());
    EXPECT_EQ(find_leader(target_).pod().name, "ccbc-instance1-q8vz-0");
    api_.rotate_token("token-2");
    EXPECT_EQ(find_leader(target_).pod().name, "ccbc-instance1-q8vz-0");
    const auto requests = api_.requests();
    ASSERT_EQ(requests.size(), 2u);
    EXPECT_TRUE(requests[1]["token_ok"].get<bool>()) << "the new token was sent";
}

TEST_F(InCluster, ARejectedTokenIs401NamingTheEnvironmentAndTheTokenFile) {
    api_.set_pods(leader_and_replica());
    api_.state()["token"] = "token-the-api-now-expects";
    api_.publish();
    const Error e = refusal();
    EXPECT_EQ(e.code(), ErrorCode::unreachable);
    EXPECT_NE(e.message().find("environment prod: "), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("refused the service account token (401 Unauthorized: "
                               "Unauthorized)"),
              std::string::npos)
        << e.message();
    EXPECT_NE(e.hint().find(api_.service_account_dir() + "/token"), std::string::npos) << e.hint();
    EXPECT_FALSE(api_.requests().at(0)["token_ok"].get<bool>());
}

TEST_F(InCluster, AMissingListPermissionIs403NamingTheVerbAndNamespace) {
    api_.set_pods(leader_and_replica());
    api_.state()["forbidden"] = nlohmann::json::array({kNamespace});
    api_.publish();
    const Error e = refusal();
    EXPECT_EQ(e.code(), ErrorCode::unreachable);
    EXPECT_NE(e.message().find("environment prod: "), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("403 Forbidden: pods is forbidden: User "
                               "\"system:serviceaccount:ff61fb-tools:datafix\" cannot list "
                               "resource \"pods\""),
              std::string::npos)
        << e.message();
    EXPECT_NE(e.hint().find("grant the verb \"list\" on \"pods\" in namespace ff61fb-prod"),
              std::string::npos)
        << e.hint();
}

TEST_F(InCluster, NotTheApiIs404NamingTheServiceVariables) {
    api_.state()["not_found"] = true;
    api_.publish();
    const Error e = refusal();
    EXPECT_EQ(e.code(), ErrorCode::unreachable);
    EXPECT_NE(e.message().find("environment prod: "), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("404 Not Found for GET /api/v1/namespaces/ff61fb-prod/pods?"
                               "labelSelector="),
              std::string::npos)
        << e.message();
    EXPECT_NE(e.message().find("the server could not find the requested resource"),
              std::string::npos);
    EXPECT_NE(e.hint().find("KUBERNETES_SERVICE_HOST"), std::string::npos) << e.hint();
}

TEST_F(InCluster, ACertificateFromAnotherCaIsRefused) {
    api_.set_pods(leader_and_replica());
    std::filesystem::copy_file(api_.other_ca(), api_.service_account_dir() + "/ca.crt",
                               std::filesystem::copy_options::overwrite_existing);
    const Error e = refusal();
    EXPECT_EQ(e.code(), ErrorCode::unreachable);
    EXPECT_NE(e.message().find("environment prod: "), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("could not be verified with the CA"), std::string::npos)
        << e.message();
    EXPECT_NE(e.hint().find("never skips"), std::string::npos);
    EXPECT_TRUE(api_.requests().empty()) << "nothing was sent to an unverified server";
}

TEST_F(InCluster, NoServiceAccountIsAConfigError) {
    target_.service_account_dir = api_.file("not-mounted");
    const Error e = refusal();
    EXPECT_EQ(e.code(), ErrorCode::config);
    EXPECT_NE(e.message().find("environment prod: cannot read the service account's token at " +
                               api_.file("not-mounted") + "/token"),
              std::string::npos)
        << e.message();
    EXPECT_NE(e.hint().find("mode = \"client\""), std::string::npos);
}

TEST_F(InCluster, AnApiThatDoesNotAnswerIsCutAtTheTimeout) {
    api_.state()["hang"] = true;
    api_.publish();
    target_.timeout = std::chrono::milliseconds{1500};
    const Error e = refusal();
    EXPECT_EQ(e.code(), ErrorCode::unreachable);
    EXPECT_NE(e.message().find("environment prod: the Kubernetes API at " + api_.api_server() +
                               " did not answer within 1500 ms"),
              std::string::npos)
        << e.message();
}

TEST_F(InCluster, OutsideAPodTheStepIsAConfigErrorNamingTheEnvironment) {
    ::unsetenv("KUBERNETES_SERVICE_HOST");
    target_.api_server.clear();
    const Error e = refusal();
    EXPECT_EQ(e.code(), ErrorCode::config);
    EXPECT_NE(e.message().find("environment prod: mode = \"in-cluster\" needs "
                               "KUBERNETES_SERVICE_HOST"),
              std::string::npos)
        << e.message();
    EXPECT_TRUE(api_.requests().empty());
}

TEST_F(InCluster, NoApiServerIsUnreachable) {
    target_.api_server = "https://127.0.0.1:1";
    const Error e = refusal();
    EXPECT_EQ(e.code(), ErrorCode::unreachable);
    EXPECT_NE(e.message().find("environment prod: cannot reach the Kubernetes API at "
                               "https://127.0.0.1:1"),
              std::string::npos)
        << e.message();
}

TEST_F(InCluster, TheLeaderRulesAreTheClientsRules) {
    // No leader.
    api_.set_pods(nlohmann::json::array(
        {FakeKubeApi::pod("ccbc-instance1-m2xw-0", kNamespace, "replica", "127.0.0.1")}));
    Error e = refusal();
    EXPECT_EQ(e.code(), ErrorCode::target_refused);
    EXPECT_NE(e.message().find("environment prod: no pod matches namespace ff61fb-prod"),
              std::string::npos)
        << e.message();
    // Two leaders.
    api_.set_pods({FakeKubeApi::pod("ccbc-instance1-q8vz-0", kNamespace, "master", "127.0.0.1"),
                   FakeKubeApi::pod("ccbc-instance1-m2xw-0", kNamespace, "master", "127.0.0.9")});
    e = refusal();
    EXPECT_EQ(e.code(), ErrorCode::target_refused);
    EXPECT_NE(e.message().find("2 running, ready pods"), std::string::npos) << e.message();
    // A leader that is not ready.
    api_.set_pods(nlohmann::json::array(
        {FakeKubeApi::pod("ccbc-instance1-q8vz-0", kNamespace, "master", "127.0.0.1", false)}));
    e = refusal();
    EXPECT_NE(e.message().find("ccbc-instance1-q8vz-0 (Running, not ready)"), std::string::npos)
        << e.message();
    // The leader of another namespace is not listed there.
    api_.set_pods(nlohmann::json::array(
        {FakeKubeApi::pod("ccbc-instance1-t4rr-0", "ff61fb-test", "master", "127.0.0.1")}));
    e = refusal();
    EXPECT_NE(e.message().find("no pod matches namespace ff61fb-prod"), std::string::npos);
}

TEST_F(InCluster, TheSelectorIsUrlEncodedInThePath) {
    EXPECT_EQ(pod_list_path("ff61fb-prod", "a/b=c,d=e f"),
              "/api/v1/namespaces/ff61fb-prod/pods?labelSelector=a%2Fb%3Dc%2Cd%3De%20f");
}

}  // namespace
}  // namespace datafix::discover
