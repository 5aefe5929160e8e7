// An OpenShift environment end to end: the server finds dev's leader pod with a stand-in `oc`
// (first on the server's PATH) and reaches the harness's dev cluster through its port-forward at
// every step. When the cluster shows no leader, two leaders, or a leader of another namespace,
// the step is refused with discover's message and nothing changes.
#include <gtest/gtest.h>

#include <fstream>

#include "discover/fake_client.hpp"
#include "runbook_steps.hpp"

namespace datafix::e2e {

namespace {

using discover::testing::fake_pod;
using discover::testing::FakeClusterClient;

const std::string kNamespace = "ff61fb-dev";

class OpenShiftEnvironment : public ::testing::Test {
  protected:
    OpenShiftEnvironment() { show_cluster(one_leader(), kNamespace); }

    // What the stand-in answers from now on (read at every invocation by the running server).
    void show_cluster(const std::string& pods, const std::string& project) {
        std::ofstream out(fake.file("cluster.env"), std::ios::trunc);
        out << "DATAFIX_FAKE_PODS=" << pods << "\nDATAFIX_FAKE_PROJECT=" << project << "\n";
    }
    static std::string leader(const std::string& name) {
        return fake_pod(name, kNamespace, "Running", true, "master", dev_port());
    }
    static std::string one_leader() {
        return leader("ccbc-instance1-q8vz-0") + ";" +
               fake_pod("ccbc-instance1-m2xw-0", kNamespace, "Running", true, "replica",
                        dev_port());
    }
    static int dev_port() { return testing::SampleClusters::get().dev().port(); }

    static ServerOptions options(const FakeClusterClient& client) {
        ServerOptions o;
        o.environments["dev"] = [](const std::string& database) {
            return "conninfo = \"dbname=" + database +
                   " user=datafix_login password=datafix-test-password\"\n"
                   "role = \"app_owner\"\nsystem_identifier = \"" +
                   testing::SampleClusters::get().dev().system_identifier() +
                   "\"\napprovals = [\"pair\"]\n\n[environment.openshift]\nnamespace = \"" +
                   kNamespace + "\"\ncluster = \"ccbc\"\ntimeout = 20\n";
        };
        o.server_env["PATH"] = client.bin_dir() + ":" + std::getenv("PATH");
        o.server_env["DATAFIX_FAKE_ENV_FILE"] = client.file("cluster.env");
        return o;
    }

    std::string dev_name(int id) {
        return s.psql(
            "dev", "SELECT family_name FROM app_public.app_user WHERE id = " + std::to_string(id));
    }

    // A refused preview on dev: discover's words in the error body, the row unchanged.
    void expect_discovery_refusal(long long n, const std::string& words) {
        std::string before = dev_name(3);
        Answer a = s.post(t.dana, env_path(n, "dev", "preview"), {});
        EXPECT_EQ(a.status, 422) << a.body.dump();
        EXPECT_EQ(a.body.value("error", ""), "target_refused") << a.body.dump();
        EXPECT_NE(a.body.value("message", "").find(words), std::string::npos) << a.body.dump();
        EXPECT_FALSE(a.body.value("hint", "").empty()) << a.body.dump();
        EXPECT_EQ(dev_name(3), before) << "a refused step changed the database";
    }

    FakeClusterClient fake;
    ServerFixture s{options(fake)};
    Team t = make_team(s);
};

}  // namespace

TEST_F(OpenShiftEnvironment, PreviewAndApplyReachTheLeaderThroughItsPortForward) {
    long long n = file_request(s, t);
    prepare(s, t, n);
    promote(s, t, n, "dev");
    EXPECT_EQ(dev_name(3), "Renamed\n");

    // Discovery ran at each step that touched dev, in the runbook's order and namespace.
    int listings = 0;
    int forwards = 0;
    for (const auto& line : fake.invocations()) {
        if (line.find("-n " + kNamespace + " get pods -l") != std::string::npos) {
            ++listings;
        }
        if (line.find("port-forward") != std::string::npos &&
            line.find("pod/ccbc-instance1-q8vz-0") != std::string::npos) {
            ++forwards;
        }
    }
    EXPECT_EQ(listings, 2) << "preview and apply each find the leader";
    EXPECT_EQ(forwards, 2);

    // The pre-flight report names the environment reached through the forward.
    Answer pf = s.get(t.dana, env_path(n, "dev", "preflight"));
    ASSERT_EQ(pf.status, 200) << pf.body.dump();
    EXPECT_EQ(pf.body["environment"], "dev");
    EXPECT_EQ(pf.body["system_identifier"],
              testing::SampleClusters::get().dev().system_identifier());
}

TEST_F(OpenShiftEnvironment, NoLeaderIsRefusedAndChangesNothing) {
    long long n = file_request(s, t);
    prepare(s, t, n);
    show_cluster(
        fake_pod("ccbc-instance1-m2xw-0", kNamespace, "Running", true, "replica", dev_port()),
        kNamespace);
    expect_discovery_refusal(n, "no pod matches");
}

TEST_F(OpenShiftEnvironment, TwoLeadersAreRefusedAndChangeNothing) {
    long long n = file_request(s, t);
    prepare(s, t, n);
    show_cluster(leader("ccbc-instance1-q8vz-0") + ";" + leader("ccbc-instance1-m2xw-0"),
                 kNamespace);
    expect_discovery_refusal(n, "2 running, ready pods match");
}

TEST_F(OpenShiftEnvironment, WrongNamespaceIsRefusedAtApplyAfterAGoodPreview) {
    long long n = file_request(s, t);
    prepare(s, t, n);
    ASSERT_EQ(s.post(t.dana, env_path(n, "dev", "preview"), {}).status, 200);
    nlohmann::json st = state_of(s, t.sam, n);
    ASSERT_EQ(
        s.post(t.sam, env_path(n, "dev", "approve"),
               {{"revision_hash", revision_hash(st)}, {"fingerprint", fingerprint(st, "dev")}})
            .status,
        200);
    // The client now answers with a leader of another namespace (a client that ignores -n, or a
    // context pointing elsewhere): the pods' own namespace is the guardrail.
    {
        std::ofstream out(fake.file("cluster.env"), std::ios::trunc);
        out << "DATAFIX_FAKE_PODS="
            << fake_pod("ccbc-instance1-p9rt-0", "ff61fb-prod", "Running", true, "master",
                        dev_port())
            << "\nDATAFIX_FAKE_PROJECT=" << kNamespace << "\nDATAFIX_FAKE_IGNORE_NAMESPACE=1\n";
    }
    Answer a =
        s.post(t.dana, env_path(n, "dev", "apply"), {{"fingerprint", fingerprint(st, "dev")}});
    EXPECT_EQ(a.status, 422) << a.body.dump();
    EXPECT_NE(a.body.value("message", "")
                  .find("of namespace \"ff61fb-prod\", but this "
                        "environment is namespace " +
                        kNamespace),
              std::string::npos)
        << a.body.dump();
    EXPECT_NE(dev_name(3), "Renamed\n") << "a refused apply changed the database";

    // The CLI says the same, with the HINT, and exits with target_refused's status.
    auto cli = s.cli(t.dana, {"preview", std::to_string(n), "dev"});
    EXPECT_EQ(cli.status, 6) << cli.out << cli.err;
    EXPECT_NE(cli.err.find("ff61fb-prod"), std::string::npos) << cli.err;
    EXPECT_NE(cli.err.find("HINT: check the environment's context and kubeconfig"),
              std::string::npos)
        << cli.err;
}

}  // namespace datafix::e2e
