// A real switchover in the middle of a request. Prod is a throwaway primary and its streaming
// replica (never the shared SampleClusters: these tests promote and stop clusters), reached with
// a multi-host conninfo and target_session_attrs=read-write, the replica listed first.
//  - Between the prod preview and the apply the replica is promoted and the old primary stopped:
//    the apply lands on the new primary, the pin still matches (physical replicas share the
//    system identifier), the approved evidence still matches, and the request is done.
//  - A switchover that cuts the apply after its COMMIT was sent: the run ends in-doubt and
//    `datafix resolve` settles it on the new primary, never guessing and never applying twice.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "runbook_steps.hpp"

namespace datafix::e2e {

namespace {

using testing::PgCluster;

std::unique_ptr<PgCluster> sample_primary(const std::string& name) {
    auto primary = PgCluster::create(name);
    testing::load_sample_schema(*primary);
    testing::generate_sample_rows(*primary, 20);
    return primary;
}

class Switchover : public ::testing::Test {
  protected:
    std::unique_ptr<PgCluster> primary = sample_primary("failover-primary");
    std::unique_ptr<PgCluster> replica;
    ServerFixture s{options()};
    Team t = make_team(s);

    ServerOptions options() {
        ServerOptions o;
        o.environments["prod"] = [this](const std::string& database) {
            primary->create_database(database, "app", "datafix_login");
            // The replica is made after the database exists, so it starts with it.
            replica = primary->create_replica("failover-replica");
            return "conninfo = \"host=127.0.0.1,127.0.0.1 port=" + std::to_string(replica->port()) +
                   "," + std::to_string(primary->port()) + " dbname=" + database +
                   " user=datafix_login password=datafix-test-password "
                   "target_session_attrs=read-write connect_timeout=5\"\nrole = \"app_owner\"\n"
                   "system_identifier = \"" +
                   primary->system_identifier() +
                   "\"\nproduction = true\napprovals = [\"pair\", \"product_owner\"]\n";
        };
        return o;
    }

    std::string prod_name(const PgCluster& cluster) {
        return cluster.psql("SELECT family_name FROM app_public.app_user WHERE id = 3",
                            s.database());
    }

    // dev and test done, the product owner's approval, the prod preview (on the old primary)
    // and the pair's approval of its evidence. Returns the evidence's fingerprint.
    std::string ready_for_prod_apply(long long n) {
        prepare(s, t, n);
        promote(s, t, n, "dev");
        promote(s, t, n, "test");
        nlohmann::json st = state_of(s, t.po, n);
        EXPECT_EQ(
            s.post(t.po, req(n, "/approve-production"), {{"revision_hash", revision_hash(st)}})
                .status,
            200);
        Answer p = s.post(t.dana, env_path(n, "prod", "preview"), {});
        EXPECT_EQ(p.status, 200) << p.body.dump();
        EXPECT_EQ(p.body["evidence"]["system_identifier"], primary->system_identifier());
        st = state_of(s, t.sam, n);
        EXPECT_EQ(
            s.post(t.sam, env_path(n, "prod", "approve"),
                   {{"revision_hash", revision_hash(st)}, {"fingerprint", fingerprint(st, "prod")}})
                .status,
            200);
        return fingerprint(st, "prod");
    }

    const nlohmann::json* last_run(const nlohmann::json& state, const std::string& kind) {
        const nlohmann::json* found = nullptr;
        for (const auto& r : state["runs"]) {
            if (r["kind"] == kind && r["environment"] == "prod") {
                found = &r;
            }
        }
        return found;
    }
};

}  // namespace

TEST_F(Switchover, TheNextStepLandsOnTheNewPrimaryAndTheRequestFinishes) {
    long long n = file_request(s, t);
    const std::string before = prod_name(*primary);
    const std::string pin = primary->system_identifier();
    std::string approved = ready_for_prod_apply(n);

    primary->stop();
    replica->promote();

    Answer a = s.post(t.dana, env_path(n, "prod", "apply"), {{"fingerprint", approved}});
    ASSERT_EQ(a.status, 200) << a.body.dump();
    EXPECT_EQ(a.body["status"], "committed");
    EXPECT_EQ(a.body["evidence"]["system_identifier"], pin)
        << "the new primary carries the pinned system identifier";
    EXPECT_NE(before, "Renamed\n");
    EXPECT_EQ(prod_name(*replica), "Renamed\n") << "the change landed on the promoted replica";
    EXPECT_EQ(state_of(s, t.po, n)["status"], "done");
}

TEST_F(Switchover, ARunCutAfterItsCommitWasSentEndsInDoubtAndIsResolved) {
    long long n = file_request(s, t);
    std::string approved = ready_for_prod_apply(n);

    // The old primary waits for a synchronous standby that never answers, so the COMMIT is sent
    // and held: the switchover then cuts the run exactly between COMMIT and its answer.
    primary->psql("ALTER SYSTEM SET synchronous_standby_names = 'datafix_absent_standby'");
    primary->psql("SELECT pg_reload_conf()");

    auto apply = std::async(std::launch::async, [&] {
        return s.post(t.dana, env_path(n, "prod", "apply"), {{"fingerprint", approved}});
    });
    // RecordInFlight: the ledger knows the xid before COMMIT is sent.
    long long xid = 0;
    for (int i = 0; i < 400 && xid == 0; ++i) {
        nlohmann::json st = state_of(s, t.po, n);
        const nlohmann::json* run = last_run(st, "apply");
        if (run != nullptr && (*run)["xid"].is_number()) {
            xid = (*run)["xid"];
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
    ASSERT_NE(xid, 0) << "the apply never recorded its transaction in flight";
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // COMMIT sent, answer held
    primary->stop();

    Answer cut = apply.get();
    EXPECT_EQ(cut.body.value("error", ""), "in_doubt") << cut.body.dump();
    EXPECT_EQ(cut.body.value("rule", ""), "run-in-doubt") << cut.body.dump();
    nlohmann::json st = state_of(s, t.po, n);
    const nlohmann::json* run = last_run(st, "apply");
    ASSERT_NE(run, nullptr);
    EXPECT_EQ((*run)["state"], "in_doubt");
    int run_number = (*run)["number"];

    // While no primary is up, resolving is refused and the run stays in doubt.
    auto early = s.cli(t.dana, {"resolve", std::to_string(n), std::to_string(run_number)});
    EXPECT_NE(early.status, 0) << early.out;

    replica->promote();
    auto resolved = s.cli(
        t.dana, {"resolve", std::to_string(n), std::to_string(run_number), "--output", "json"});
    ASSERT_EQ(resolved.status, 0) << resolved.out << resolved.err;
    auto answer = nlohmann::json::parse(resolved.out);
    // The old primary had committed locally and shipped its WAL on shutdown: the new primary
    // knows the transaction committed. Whatever it says, the rows agree with the answer.
    if (answer["status"] == "committed") {
        EXPECT_EQ(prod_name(*replica), "Renamed\n");
        EXPECT_EQ(state_of(s, t.po, n)["status"], "done");
    } else {
        EXPECT_EQ(answer["status"], "rolled_back") << answer.dump();
        EXPECT_NE(prod_name(*replica), "Renamed\n");
    }
    st = state_of(s, t.po, n);
    EXPECT_NE((*last_run(st, "apply"))["state"], "in_doubt");
}

}  // namespace datafix::e2e
