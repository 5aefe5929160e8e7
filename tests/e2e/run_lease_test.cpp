// Two servers on one PostgreSQL ledger: a run left behind by a server that is gone (killed, or
// hung while holding its target transaction) is settled by the other one, without a restart,
// once its lease lapses. Committed once or not at all, the ledger says which, and the retry on
// the surviving server applies once or is refused.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "crash_steps.hpp"

namespace datafix::e2e {
namespace {

using namespace std::chrono_literals;

testing::PgCluster& ledger_cluster() {
    static std::unique_ptr<testing::PgCluster> c = testing::PgCluster::create("e2eledger");
    return *c;
}

ServerOptions on_shared_ledger() {
    static int counter = 0;
    std::string name = "lease_ledger_" + std::to_string(++counter);
    ledger_cluster().psql("CREATE DATABASE " + name, "postgres");
    ServerOptions options;
    options.server_settings =
        "ledger = \"postgresql:" + ledger_cluster().conninfo(name) + "\"\nrun_lease = \"2s\"\n";
    return options;
}

// The dev apply runs, as the peer sees them.
std::vector<nlohmann::json> applies_seen_by_peer(ServerFixture& s, const Team& t, long long n) {
    return dev_runs(s.peer_get(t.po, req(n)).body, "apply");
}

// The first apply's state once the peer has settled and resolved it. "in_doubt" is passed
// through on the way (the peer records it, then asks the target), so it ends the wait only when
// it stays.
std::string settled_state(ServerFixture& s, const Team& t, long long n) {
    std::string state;
    eventually([&] {
        auto applies = applies_seen_by_peer(s, t, n);
        state = applies.empty() ? "" : applies[0]["state"].get<std::string>();
        return !state.empty() && state != "running" && state != "in_doubt";
    });
    return state;
}

TEST(RunLease, TheOtherServerSettlesARunWhoseServerWasKilledBeforeCommit) {
    ServerFixture s(on_shared_ledger());
    Team t = make_team(s);
    long long n = file_request(s, t);
    std::string approved = approved_in_dev(s, t, n);
    std::string before = family_name(s);
    s.restart({{"DATAFIX_FAULT", "apply.before_commit"}});
    s.start_peer("peer");

    post_until_killed(s, t.dana, env_path(n, "dev", "apply"), {{"fingerprint", approved}},
                      "apply.before_commit");
    // Not restarted: the peer alone finds the lapsed lease.
    EXPECT_EQ(settled_state(s, t, n), "rolled_back") << s.server_log();
    EXPECT_EQ(family_name(s), before);

    Answer retry = s.peer_post(t.dana, env_path(n, "dev", "apply"), {{"fingerprint", approved}});
    ASSERT_EQ(retry.status, 200) << retry.body.dump();
    EXPECT_EQ(family_name(s), "Renamed\n");
    EXPECT_EQ(s.peer_post(t.dana, env_path(n, "dev", "apply"), {{"fingerprint", approved}}).status,
              409);
    expect_audit_intact(s.peer_get(t.po, "/api/audit/verify"));
}

TEST(RunLease, TheOtherServerRecordsACommitWhoseServerWasKilledRightAfterIt) {
    ServerFixture s(on_shared_ledger());
    Team t = make_team(s);
    long long n = file_request(s, t);
    std::string approved = approved_in_dev(s, t, n);
    s.restart({{"DATAFIX_FAULT", "apply.after_commit"}});
    s.start_peer("peer");

    post_until_killed(s, t.dana, env_path(n, "dev", "apply"), {{"fingerprint", approved}},
                      "apply.after_commit");
    EXPECT_EQ(settled_state(s, t, n), "succeeded") << s.server_log();
    EXPECT_EQ(family_name(s), "Renamed\n");
    Answer retry = s.peer_post(t.dana, env_path(n, "dev", "apply"), {{"fingerprint", approved}});
    EXPECT_EQ(retry.status, 409) << "the approval was consumed: " << retry.body.dump();
    EXPECT_EQ(applies_seen_by_peer(s, t, n).size(), 1u);
    expect_audit_intact(s.peer_get(t.po, "/api/audit/verify"));
}

// A hung server (SIGSTOP) still holds its target transaction when its lease lapses. The peer
// settles the run as failed; the hung server, resumed, is refused its xid and rolls back.
TEST(RunLease, AHungServersRunIsSettledAndItCannotCommitWhenItWakes) {
    ServerFixture s(on_shared_ledger());
    Team t = make_team(s);
    long long n = file_request(s, t);
    std::string approved = approved_in_dev(s, t, n);
    std::string before = family_name(s);
    s.restart({{"DATAFIX_FAULT", "apply.statement:stop"}});
    s.start_peer("peer");

    Answer answer;
    std::thread apply([&] {
        answer = s.post(t.dana, env_path(n, "dev", "apply"), {{"fingerprint", approved}});
    });
    ASSERT_TRUE(eventually([&] { return s.is_stopped(); }, 30s));
    EXPECT_EQ(settled_state(s, t, n), "failed");
    s.resume();
    apply.join();
    EXPECT_EQ(answer.status, 409) << "its xid was refused: " << answer.body.dump();
    EXPECT_EQ(family_name(s), before) << "the woken server never committed";

    Answer retry = s.peer_post(t.dana, env_path(n, "dev", "apply"), {{"fingerprint", approved}});
    ASSERT_EQ(retry.status, 200) << retry.body.dump();
    EXPECT_EQ(family_name(s), "Renamed\n");
    EXPECT_EQ(applies_seen_by_peer(s, t, n).size(), 2u);
    expect_audit_intact(s.peer_get(t.po, "/api/audit/verify"));
}

}  // namespace
}  // namespace datafix::e2e
