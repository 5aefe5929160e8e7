// Choosing the leader from a pod list: the JSON as `oc get pods -o json` prints it, and every
// refusal the runbook's "find the leader pod" step can run into.
#include "discover/pod_list.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace datafix::discover {
namespace {

const char* kSelector =
    "postgres-operator.crunchydata.com/cluster=ccbc,postgres-operator.crunchydata.com/role=master";

// A trimmed but faithful `oc get pods -o json` answer with one leader pod.
const char* kOneLeader = R"({
    "apiVersion": "v1",
    "items": [{
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "ccbc-instance1-q8vz-0",
            "namespace": "ff61fb-prod",
            "labels": {
                "postgres-operator.crunchydata.com/cluster": "ccbc",
                "postgres-operator.crunchydata.com/instance": "ccbc-instance1-q8vz",
                "postgres-operator.crunchydata.com/role": "master"
            }
        },
        "status": {
            "phase": "Running",
            "conditions": [
                {"type": "Initialized", "status": "True"},
                {"type": "Ready", "status": "True"},
                {"type": "PodScheduled", "status": "True"}
            ],
            "containerStatuses": [{"name": "database", "ready": true, "restartCount": 0,
                                   "state": {"running": {"startedAt": "2026-01-05T09:12:40Z"}}}]
        }
    }],
    "kind": "List",
    "metadata": {"resourceVersion": ""}
})";

PodStatus pod(std::string name, std::string phase, bool ready, std::string ns = "ff61fb-prod",
              std::string role = "master") {
    PodStatus p;
    p.name = std::move(name);
    p.namespace_name = std::move(ns);
    p.phase = std::move(phase);
    p.ready = ready;
    p.labels = {{"postgres-operator.crunchydata.com/cluster", "ccbc"},
                {"postgres-operator.crunchydata.com/role", std::move(role)}};
    return p;
}

TEST(PodList, ParsesTheClientsJson) {
    const auto pods = parse_pod_list(kOneLeader);
    ASSERT_EQ(pods.size(), 1u);
    EXPECT_EQ(pods[0].name, "ccbc-instance1-q8vz-0");
    EXPECT_EQ(pods[0].namespace_name, "ff61fb-prod");
    EXPECT_EQ(pods[0].phase, "Running");
    EXPECT_TRUE(pods[0].ready);
    EXPECT_FALSE(pods[0].terminating);
    EXPECT_EQ(pods[0].labels.at("postgres-operator.crunchydata.com/role"), "master");
}

TEST(PodList, RefusesWhatIsNotAPodList) {
    for (const char* text : {"not json", R"({"kind": "Pod"})", R"({"kind": "List"})",
                             R"({"kind": "List", "items": [{"kind": "Service"}]})",
                             R"({"kind": "List", "items": [{"kind": "Pod", "metadata": {}}]})"}) {
        try {
            parse_pod_list(text);
            ADD_FAILURE() << "accepted " << text;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::invalid_input) << text;
            EXPECT_FALSE(e.hint().empty());
        }
    }
}

TEST(PodList, EmptyListIsParsed) {
    EXPECT_TRUE(parse_pod_list(R"({"apiVersion": "v1", "kind": "List", "items": []})").empty());
}

TEST(LeaderChoice, ExactlyOneRunningReadyPodIsTheLeader) {
    const auto choice = choose_leader_pod(parse_pod_list(kOneLeader), "ff61fb-prod", kSelector);
    ASSERT_TRUE(choice.leader);
    EXPECT_EQ(choice.leader->name, "ccbc-instance1-q8vz-0");
}

TEST(LeaderChoice, NoPodIsRefusedNamingNamespaceAndSelector) {
    const auto choice = choose_leader_pod({}, "ff61fb-prod", kSelector);
    EXPECT_FALSE(choice.leader);
    EXPECT_NE(choice.refusal.find("no pod matches namespace ff61fb-prod"), std::string::npos);
    EXPECT_NE(choice.refusal.find("role=master"), std::string::npos);
    EXPECT_FALSE(choice.hint.empty());
}

TEST(LeaderChoice, TwoLeadersAreRefusedNamingBoth) {
    const auto choice = choose_leader_pod({pod("ccbc-instance1-q8vz-0", "Running", true),
                                           pod("ccbc-instance1-m2xw-0", "Running", true)},
                                          "ff61fb-prod", kSelector);
    EXPECT_FALSE(choice.leader);
    EXPECT_NE(choice.refusal.find("2 running, ready pods"), std::string::npos);
    EXPECT_NE(choice.refusal.find("ccbc-instance1-q8vz-0"), std::string::npos);
    EXPECT_NE(choice.refusal.find("ccbc-instance1-m2xw-0"), std::string::npos);
}

TEST(LeaderChoice, NotReadyOrNotRunningIsRefusedSayingWhy) {
    const auto choice = choose_leader_pod({pod("ccbc-instance1-q8vz-0", "Running", false),
                                           pod("ccbc-instance1-m2xw-0", "Pending", false)},
                                          "ff61fb-prod", kSelector);
    EXPECT_FALSE(choice.leader);
    EXPECT_NE(choice.refusal.find("ccbc-instance1-q8vz-0 (Running, not ready)"), std::string::npos);
    EXPECT_NE(choice.refusal.find("ccbc-instance1-m2xw-0 (Pending, not ready)"), std::string::npos);
}

TEST(LeaderChoice, TerminatingOldLeaderIsIgnoredWhenANewOneIsReady) {
    PodStatus old_leader = pod("ccbc-instance1-q8vz-0", "Running", true);
    old_leader.terminating = true;
    const auto choice = choose_leader_pod(
        {old_leader, pod("ccbc-instance1-m2xw-0", "Running", true)}, "ff61fb-prod", kSelector);
    ASSERT_TRUE(choice.leader);
    EXPECT_EQ(choice.leader->name, "ccbc-instance1-m2xw-0");
}

TEST(LeaderChoice, APodOfAnotherNamespaceRefusesTheWholeAnswer) {
    const auto choice = choose_leader_pod(
        {pod("ccbc-instance1-q8vz-0", "Running", true, "ff61fb-test")}, "ff61fb-prod", kSelector);
    EXPECT_FALSE(choice.leader);
    EXPECT_NE(choice.refusal.find("namespace \"ff61fb-test\""), std::string::npos);
    EXPECT_NE(choice.refusal.find("this environment is namespace ff61fb-prod"), std::string::npos);
}

TEST(LeaderChoice, APodWithoutTheSelectorsLabelsIsRefused) {
    const auto choice =
        choose_leader_pod({pod("ccbc-instance1-q8vz-0", "Running", true, "ff61fb-prod", "replica")},
                          "ff61fb-prod", kSelector);
    EXPECT_FALSE(choice.leader);
    EXPECT_NE(choice.refusal.find("postgres-operator.crunchydata.com/role=master"),
              std::string::npos);
}

TEST(LeaderChoice, SetBasedSelectorTermsAreLeftToTheApiServer) {
    const auto choice =
        choose_leader_pod({pod("ccbc-instance1-q8vz-0", "Running", true)}, "ff61fb-prod",
                          "postgres-operator.crunchydata.com/role in (master),tier!=batch");
    EXPECT_TRUE(choice.leader);
}

}  // namespace
}  // namespace datafix::discover
