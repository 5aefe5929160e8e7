// One datafix server, three environments in three namespaces (ff61fb-dev, -test, -prod), each
// database found by leader discovery, the whole runbook from dev to prod:
//  - out of cluster: the stand-in `oc` with one kubeconfig holding a context per environment,
//    its current context dev's. Each context's login may see only its own namespace, so a step
//    that used the client's current context or project instead of the environment's would fail.
//  - in cluster: the stand-in Kubernetes API over HTTPS (a CA made by the test) and the service
//    account folder as a pod has it. A stand-in `oc` is on the server's PATH and must never be
//    run. The token rotates between two steps; prod switches over between its preview and its
//    apply (a real primary and streaming replica on two loopback addresses, as two pod IPs).
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "discover/fake_client.hpp"
#include "discover/fake_kube_api.hpp"
#include "runbook_steps.hpp"

namespace datafix::e2e {

namespace {

using discover::testing::fake_pod;
using discover::testing::FakeClusterClient;
using discover::testing::FakeKubeApi;
using testing::PgCluster;

const char* const kEnvironments[] = {"dev", "test", "prod"};

std::string ns_of(const std::string& env) {
    return "ff61fb-" + env;
}

testing::PgCluster& shared_cluster(const std::string& env) {
    auto& c = testing::SampleClusters::get();
    return env == "dev" ? c.dev() : env == "test" ? c.test() : c.prod();
}

// The [[environment]] keys of `env` on `cluster`, then its discovery table.
std::string environment_keys(const std::string& env, const std::string& database,
                             const PgCluster& cluster, const std::string& discovery) {
    return "conninfo = \"dbname=" + database +
           " user=datafix_login password=datafix-test-password connect_timeout=5\"\n"
           "role = \"app_owner\"\nsystem_identifier = \"" +
           cluster.system_identifier() + "\"\n" +
           (env == "prod" ? "production = true\napprovals = [\"pair\", \"product_owner\"]\n"
                          : "approvals = [\"pair\"]\n") +
           "\n[environment.openshift]\nnamespace = \"" + ns_of(env) +
           "\"\ncluster = \"ccbc\"\ntimeout = 20\n" + discovery;
}

std::string family_name(ServerFixture& s, const std::string& env) {
    return s.psql(env, "SELECT family_name FROM app_public.app_user WHERE id = 3");
}

// The PO's approval for prod, after dev and test.
void approve_production(ServerFixture& s, const Team& t, long long n) {
    nlohmann::json st = state_of(s, t.po, n);
    ASSERT_EQ(
        s.post(t.po, req(n, "/approve-production"), {{"revision_hash", revision_hash(st)}}).status,
        200);
}

class OutOfCluster : public ::testing::Test {
  protected:
    OutOfCluster() {
        std::ofstream(fake.file("cluster.env"))
            << "DATAFIX_FAKE_PODS=" << pods() << "\nDATAFIX_FAKE_PROJECT=ff61fb-dev\n";
    }

    static std::string pods() {
        std::string out;
        for (const std::string env : kEnvironments) {
            out += fake_pod("ccbc-" + env + "-q8vz-0", ns_of(env), "Running", true, "master",
                            shared_cluster(env).port()) +
                   ";" +
                   fake_pod("ccbc-" + env + "-m2xw-0", ns_of(env), "Running", true, "replica",
                            shared_cluster(env).port()) +
                   ";";
        }
        return out;
    }

    ServerOptions options() {
        kubeconfig = fake.file("kubeconfig");
        std::ofstream(kubeconfig) << R"({"apiVersion": "v1", "kind": "Config",
  "clusters": [{"name": "apps-ocp", "cluster": {"server": "https://api.ocp.example:6443"}}],
  "users": [{"name": "datafix-dev", "user": {}}, {"name": "datafix-test", "user": {}},
            {"name": "datafix-prod", "user": {}}],
  "contexts": [
    {"name": "dev", "context": {"cluster": "apps-ocp", "namespace": "ff61fb-dev", "user": "datafix-dev"}},
    {"name": "test", "context": {"cluster": "apps-ocp", "namespace": "ff61fb-test", "user": "datafix-test"}},
    {"name": "prod", "context": {"cluster": "apps-ocp", "namespace": "ff61fb-prod", "user": "datafix-prod"}}],
  "current-context": "dev"})";
        ServerOptions o;
        for (const std::string env : kEnvironments) {
            o.environments[env] = [this, env](const std::string& database) {
                return environment_keys(
                    env, database, shared_cluster(env),
                    "kubeconfig = \"" + kubeconfig + "\"\ncontext = \"" + env + "\"\n");
            };
        }
        o.server_env["PATH"] = fake.bin_dir() + ":" + std::getenv("PATH");
        o.server_env["DATAFIX_FAKE_ENV_FILE"] = fake.file("cluster.env");
        o.server_env["DATAFIX_FAKE_CONTEXT_NAMESPACES"] =
            "dev=ff61fb-dev,test=ff61fb-test,prod=ff61fb-prod";
        return o;
    }

    FakeClusterClient fake;
    std::string kubeconfig;
    ServerFixture s{options()};
    Team t = make_team(s);
};

class InCluster : public ::testing::Test {
  protected:
    InCluster() { api.set_pods(pods()); }

    // dev and test on the shared clusters; prod's leader and replica are the two pod IPs of a
    // throwaway pair the test may switch over.
    nlohmann::json pods() const {
        nlohmann::json out = nlohmann::json::array();
        for (const std::string env : {"dev", "test"}) {
            out.push_back(
                FakeKubeApi::pod("ccbc-" + env + "-q8vz-0", ns_of(env), "master", "127.0.0.1"));
            out.push_back(
                FakeKubeApi::pod("ccbc-" + env + "-m2xw-0", ns_of(env), "replica", "127.0.0.9"));
        }
        out.push_back(FakeKubeApi::pod("ccbc-prod-a-0", "ff61fb-prod", "master", "127.0.0.2"));
        out.push_back(FakeKubeApi::pod("ccbc-prod-b-0", "ff61fb-prod", "replica", "127.0.0.3"));
        return out;
    }

    ServerOptions options() {
        ServerOptions o;
        const std::string in_cluster =
            "mode = \"in-cluster\"\nservice_account = \"" + api.service_account_dir() + "\"\n";
        for (const std::string env : {"dev", "test"}) {
            o.environments[env] = [env, in_cluster](const std::string& database) {
                return environment_keys(
                    env, database, shared_cluster(env),
                    in_cluster + "port = " + std::to_string(shared_cluster(env).port()) + "\n");
            };
        }
        o.environments["prod"] = [this, in_cluster](const std::string& database) {
            primary->create_database(database, "app", "datafix_login");
            // Made after the database exists, so the replica starts with it.
            replica = primary->create_replica("incluster-prod-b", {"127.0.0.3", primary->port()});
            return environment_keys(
                "prod", database, *primary,
                in_cluster + "port = " + std::to_string(primary->port()) + "\n");
        };
        // As Kubernetes sets them in every pod.
        o.server_env["KUBERNETES_SERVICE_HOST"] = "127.0.0.1";
        o.server_env["KUBERNETES_SERVICE_PORT"] = std::to_string(api.port());
        // A cluster client within reach, which in-cluster mode must never run.
        o.server_env["PATH"] = client.bin_dir() + ":" + std::getenv("PATH");
        return o;
    }

    static std::unique_ptr<PgCluster> sample_primary() {
        auto primary = PgCluster::create("incluster-prod-a", {"127.0.0.2", 0});
        testing::load_sample_schema(*primary);
        testing::generate_sample_rows(*primary, 20);
        return primary;
    }

    std::string name_on(const PgCluster& cluster) {
        return cluster.psql("SELECT family_name FROM app_public.app_user WHERE id = 3",
                            s.database());
    }

    // The pod list requests so far, by namespace; every one GET, with the valid token, no watch.
    std::map<std::string, int> lists_by_namespace() {
        std::map<std::string, int> out;
        for (const auto& r : api.requests()) {
            EXPECT_EQ(r["method"], "GET");
            EXPECT_TRUE(r["token_ok"].get<bool>()) << r.dump();
            EXPECT_FALSE(r["query"].contains("watch")) << r.dump();
            const std::string path = r["path"];
            const std::string prefix = "/api/v1/namespaces/";
            EXPECT_EQ(path.rfind(prefix, 0), 0u) << path;
            ++out[path.substr(prefix.size(), path.find('/', prefix.size()) - prefix.size())];
        }
        return out;
    }

    FakeKubeApi api;
    FakeClusterClient client;
    std::unique_ptr<PgCluster> primary = sample_primary();
    std::unique_ptr<PgCluster> replica;
    ServerFixture s{options()};
    Team t = make_team(s);
};

}  // namespace

TEST_F(OutOfCluster, EachEnvironmentIsReachedWithItsOwnContextFromOneServer) {
    long long n = file_request(s, t);
    prepare(s, t, n);
    promote(s, t, n, "dev");
    promote(s, t, n, "test");
    approve_production(s, t, n);
    promote(s, t, n, "prod");
    EXPECT_EQ(state_of(s, t.po, n)["status"], "done");
    for (const std::string env : kEnvironments) {
        EXPECT_EQ(family_name(s, env), "Renamed\n") << env;
    }

    // Every command named the environment's kubeconfig, context and namespace; none asked for
    // the client's current project; each environment was listed at its preview and its apply.
    std::map<std::string, int> listings;
    for (const auto& line : fake.invocations()) {
        EXPECT_EQ(line.find("project"), std::string::npos) << line;
        bool matched = false;
        for (const std::string env : kEnvironments) {
            const std::string start =
                "oc --kubeconfig " + kubeconfig + " --context " + env + " -n " + ns_of(env) + " ";
            if (line.rfind(start, 0) == 0) {
                matched = true;
                listings[env] += line.find(" get pods ") != std::string::npos ? 1 : 0;
            }
        }
        EXPECT_TRUE(matched) << line;
    }
    for (const std::string env : kEnvironments) {
        EXPECT_EQ(listings[env], 2) << env << ": preview and apply each find the leader";
    }
}

TEST_F(OutOfCluster, ALeaderListedFromAnotherNamespaceIsRefusedAndChangesNothing) {
    long long n = file_request(s, t);
    prepare(s, t, n);
    promote(s, t, n, "dev");
    // test's client now answers with prod's pods: the guardrail is the pods' own namespace.
    std::ofstream(fake.file("cluster.env"), std::ios::trunc)
        << "DATAFIX_FAKE_PODS="
        << fake_pod("ccbc-prod-q8vz-0", "ff61fb-prod", "Running", true, "master",
                    shared_cluster("prod").port())
        << "\nDATAFIX_FAKE_IGNORE_NAMESPACE=1\n";
    const std::string before = family_name(s, "test");
    Answer a = s.post(t.dana, env_path(n, "test", "preview"), {});
    EXPECT_EQ(a.status, 422) << a.body.dump();
    EXPECT_EQ(a.body.value("error", ""), "target_refused") << a.body.dump();
    EXPECT_NE(a.body.value("message", "")
                  .find("environment test: the cluster answered with pod "
                        "ccbc-prod-q8vz-0 of namespace \"ff61fb-prod\", "
                        "but this environment is namespace ff61fb-test"),
              std::string::npos)
        << a.body.dump();
    EXPECT_EQ(family_name(s, "test"), before);
    EXPECT_NE(family_name(s, "prod"), "Renamed\n");
}

TEST_F(InCluster, ThreeNamespacesThroughTheApiWithATokenRotationAndASwitchover) {
    long long n = file_request(s, t);
    prepare(s, t, n);
    promote(s, t, n, "dev");
    api.rotate_token("token-2");  // Kubernetes rotated the projected token between two steps
    promote(s, t, n, "test");
    approve_production(s, t, n);

    // prod's preview on the leader pod a (127.0.0.2), and the pair's approval.
    Answer p = s.post(t.dana, env_path(n, "prod", "preview"), {});
    ASSERT_EQ(p.status, 200) << p.body.dump();
    nlohmann::json st = state_of(s, t.sam, n);
    ASSERT_EQ(
        s.post(t.sam, env_path(n, "prod", "approve"),
               {{"revision_hash", revision_hash(st)}, {"fingerprint", fingerprint(st, "prod")}})
            .status,
        200);

    // Switchover: b is promoted, a stops; the API now shows b as the leader.
    primary->stop();
    replica->promote();
    nlohmann::json after = pods();
    after[4] = FakeKubeApi::pod("ccbc-prod-a-0", "ff61fb-prod", "replica", "127.0.0.2", false);
    after[5] = FakeKubeApi::pod("ccbc-prod-b-0", "ff61fb-prod", "master", "127.0.0.3");
    api.set_pods(after);

    Answer a =
        s.post(t.dana, env_path(n, "prod", "apply"), {{"fingerprint", fingerprint(st, "prod")}});
    ASSERT_EQ(a.status, 200) << a.body.dump();
    EXPECT_EQ(a.body["status"], "committed");
    EXPECT_EQ(name_on(*replica), "Renamed\n") << "the apply landed on the new leader";
    EXPECT_EQ(state_of(s, t.po, n)["status"], "done");
    EXPECT_EQ(family_name(s, "dev"), "Renamed\n");
    EXPECT_EQ(family_name(s, "test"), "Renamed\n");

    // One list per step in each namespace (preview and apply), nothing else; no client ran.
    const auto lists = lists_by_namespace();
    EXPECT_EQ(lists, (std::map<std::string, int>{
                         {"ff61fb-dev", 2}, {"ff61fb-test", 2}, {"ff61fb-prod", 2}}));
    EXPECT_TRUE(client.invocations().empty()) << client.invocations().front();
}

TEST_F(InCluster, AMissingRbacGrantIsRefusedNamingTheEnvironmentAndVerb) {
    long long n = file_request(s, t);
    prepare(s, t, n);
    api.state()["forbidden"] = nlohmann::json::array({"ff61fb-dev"});
    api.publish();
    const std::string before = family_name(s, "dev");
    Answer a = s.post(t.dana, env_path(n, "dev", "preview"), {});
    EXPECT_EQ(a.status, 503) << a.body.dump();
    EXPECT_EQ(a.body.value("error", ""), "unreachable") << a.body.dump();
    EXPECT_NE(a.body.value("message", "").find("environment dev: "), std::string::npos)
        << a.body.dump();
    EXPECT_NE(a.body.value("hint", "")
                  .find("grant the verb \"list\" on \"pods\" in namespace "
                        "ff61fb-dev"),
              std::string::npos)
        << a.body.dump();
    EXPECT_EQ(family_name(s, "dev"), before);

    // The CLI shows the same, with the HINT.
    auto cli = s.cli(t.dana, {"preview", std::to_string(n), "dev"});
    EXPECT_EQ(cli.status, 13) << cli.out << cli.err;
    EXPECT_NE(cli.err.find("403 Forbidden"), std::string::npos) << cli.err;
    EXPECT_NE(cli.err.find("HINT: grant the verb \"list\""), std::string::npos) << cli.err;
}

}  // namespace datafix::e2e
