// Crash-safe runs at every point of an apply and a revert: a real server process killed (or
// stopped) at a named fault point (core/fault.hpp), the target cluster stopped with
// `pg_ctl stop -m immediate` under a paused server, and a ledger that cannot record an outcome.
// For every case: the data is committed once or not at all, the ledger says which, a retry
// applies once or is refused, and the audit chain stays intact.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "crash_steps.hpp"

namespace datafix::e2e {
namespace {

using namespace std::chrono_literals;

// Killed inside the apply's transaction, before its xid reached the ledger: the target rolls
// back; the restarted server records the run failed; the same approval then applies once.
void killed_before_the_xid(const std::string& fault) {
    ServerFixture s;
    Team t = make_team(s);
    long long n = file_request(s, t);
    std::string approved = approved_in_dev(s, t, n);
    std::string before = family_name(s);

    apply_until_killed(s, t, n, approved, fault);

    auto applies = runs_of(s, t, n, "apply");
    ASSERT_EQ(applies.size(), 1u) << state_of(s, t.po, n).dump() << s.server_log();
    EXPECT_EQ(applies[0]["state"], "failed") << fault << ": no xid was recorded";
    EXPECT_EQ(family_name(s), before) << fault << ": nothing committed";

    Answer retry = s.post(t.dana, env_path(n, "dev", "apply"), {{"fingerprint", approved}});
    ASSERT_EQ(retry.status, 200) << retry.body.dump();
    EXPECT_EQ(family_name(s), "Renamed\n");
    Answer third = s.post(t.dana, env_path(n, "dev", "apply"), {{"fingerprint", approved}});
    EXPECT_EQ(third.status, 409) << third.body.dump();
    EXPECT_EQ(runs_of(s, t, n, "apply").size(), 2u);
    expect_audit_intact(s, t);
}

TEST(CrashPoints, KilledDuringTheStatementNothingCommitsAndTheRetryAppliesOnce) {
    killed_before_the_xid("apply.statement");
}

TEST(CrashPoints, KilledDuringTheCaptureNothingCommitsAndTheRetryAppliesOnce) {
    killed_before_the_xid("apply.captured");
}

// A dev apply, then the request cancelled so dev's data may be put back.
void applied_and_cancelled(ServerFixture& s, const Team& t, long long n) {
    std::string approved = approved_in_dev(s, t, n);
    ASSERT_EQ(s.post(t.dana, env_path(n, "dev", "apply"), {{"fingerprint", approved}}).status, 200);
    ASSERT_EQ(s.post(t.dana, req(n, "/cancel"), {{"reason", "not needed after all"}}).status, 200);
}

TEST(CrashPoints, RevertKilledBeforeItsCommitRollsBackAndRevertsOnceAfterwards) {
    ServerFixture s;
    Team t = make_team(s);
    long long n = file_request(s, t);
    std::string original = family_name(s);
    applied_and_cancelled(s, t, n);

    s.restart({{"DATAFIX_FAULT", "revert.before_commit"}});
    post_until_killed(s, t.dana, env_path(n, "dev", "revert"), {}, "revert.before_commit");
    s.restart({{"DATAFIX_FAULT", ""}});

    auto reverts = runs_of(s, t, n, "revert");
    ASSERT_EQ(reverts.size(), 1u);
    EXPECT_EQ(reverts[0]["state"], "rolled_back") << "its xid was recorded, its COMMIT never sent";
    EXPECT_EQ(family_name(s), "Renamed\n") << "the revert did not commit";

    Answer again = s.post(t.dana, env_path(n, "dev", "revert"), {});
    ASSERT_EQ(again.status, 200) << again.body.dump();
    EXPECT_EQ(family_name(s), original);
    Answer third = s.post(t.dana, env_path(n, "dev", "revert"), {});
    EXPECT_EQ(third.status, 409) << "nothing is left to revert: " << third.body.dump();
    expect_audit_intact(s, t);
}

TEST(CrashPoints, RevertKilledAfterItsCommitIsRecordedCommittedAndNotRepeated) {
    ServerFixture s;
    Team t = make_team(s);
    long long n = file_request(s, t);
    std::string original = family_name(s);
    applied_and_cancelled(s, t, n);

    s.restart({{"DATAFIX_FAULT", "revert.after_commit"}});
    post_until_killed(s, t.dana, env_path(n, "dev", "revert"), {}, "revert.after_commit");
    s.restart({{"DATAFIX_FAULT", ""}});

    auto reverts = runs_of(s, t, n, "revert");
    ASSERT_EQ(reverts.size(), 1u);
    EXPECT_EQ(reverts[0]["state"], "succeeded");
    EXPECT_EQ(family_name(s), original) << "restored once";
    Answer again = s.post(t.dana, env_path(n, "dev", "revert"), {});
    EXPECT_EQ(again.status, 409) << again.body.dump();
    EXPECT_EQ(runs_of(s, t, n, "revert").size(), 1u);
    expect_audit_intact(s, t);
}

// The ledger cannot record a committed apply's outcome: the caller hears "in doubt", the run is
// never turned into "failed", and the server settles it by itself on its next heartbeat.
TEST(CrashPoints, AnOutcomeTheLedgerCouldNotRecordIsSettledByTheServerItself) {
    ServerOptions options;
    options.server_settings = "run_lease = \"1s\"\n";
    ServerFixture s(options);
    Team t = make_team(s);
    long long n = file_request(s, t);
    std::string approved = approved_in_dev(s, t, n);

    s.restart({{"DATAFIX_FAULT", "apply.record_outcome:fail"}});
    Answer a = s.post(t.dana, env_path(n, "dev", "apply"), {{"fingerprint", approved}});
    EXPECT_EQ(a.status, 202) << "in doubt, not failed: " << a.body.dump();
    EXPECT_EQ(a.body.value("rule", ""), "outcome-not-recorded") << a.body.dump();
    EXPECT_EQ(family_name(s), "Renamed\n") << "the COMMIT went through";

    EXPECT_TRUE(eventually([&] {
        auto applies = runs_of(s, t, n, "apply");
        return applies.size() == 1 && applies[0]["state"] == "succeeded";
    })) << state_of(s, t.po, n)["runs"].dump()
        << s.server_log();
    Answer again = s.post(t.dana, env_path(n, "dev", "apply"), {{"fingerprint", approved}});
    EXPECT_EQ(again.status, 409) << "the approval was consumed: " << again.body.dump();
    EXPECT_EQ(family_name(s), "Renamed\n");
    expect_audit_intact(s, t);
}

// The target stops with `pg_ctl stop -m immediate` while the server holds the apply's
// transaction, its xid recorded and its COMMIT not yet sent. The target's crash recovery
// aborts the transaction; the server, resumed, meets a dead connection.
TEST(CrashPoints, TargetCrashedBeforeTheCommitNothingChangesAndTheRetryAppliesOnce) {
    ServerFixture s;
    Team t = make_team(s);
    long long n = file_request(s, t);
    std::string approved = approved_in_dev(s, t, n);
    std::string before = family_name(s);

    s.restart({{"DATAFIX_FAULT", "apply.before_commit:stop"}});
    Answer answer;
    std::thread apply([&] {
        answer = s.post(t.dana, env_path(n, "dev", "apply"), {{"fingerprint", approved}});
    });
    ASSERT_TRUE(eventually([&] { return s.is_stopped(); }, 30s));
    auto& dev = testing::SampleClusters::get().dev();
    dev.stop_immediate();
    dev.start();
    s.resume();
    apply.join();
    EXPECT_NE(answer.status, 200) << answer.body.dump();
    EXPECT_EQ(family_name(s), before) << "the crash aborted the transaction";
    auto applies = runs_of(s, t, n, "apply");
    ASSERT_EQ(applies.size(), 1u);
    EXPECT_TRUE(applies[0]["state"] == "failed" || applies[0]["state"] == "rolled_back")
        << applies[0].dump() << answer.body.dump();

    s.restart({{"DATAFIX_FAULT", ""}});
    Answer retry = s.post(t.dana, env_path(n, "dev", "apply"), {{"fingerprint", approved}});
    ASSERT_EQ(retry.status, 200) << retry.body.dump();
    EXPECT_EQ(family_name(s), "Renamed\n");
    EXPECT_EQ(s.post(t.dana, env_path(n, "dev", "apply"), {{"fingerprint", approved}}).status, 409);
    expect_audit_intact(s, t);
}

// The server is killed right after COMMIT and the target stopped with -m immediate before the
// server comes back: the ledger's answer after recovery agrees with the rows, whichever way the
// target's crash recovery went, and a retry follows it.
TEST(CrashPoints, ServerKilledAfterCommitAndTargetCrashedTheLedgerFollowsTheRows) {
    ServerFixture s;
    Team t = make_team(s);
    long long n = file_request(s, t);
    std::string approved = approved_in_dev(s, t, n);

    s.restart({{"DATAFIX_FAULT", "apply.after_commit"}});
    post_until_killed(s, t.dana, env_path(n, "dev", "apply"), {{"fingerprint", approved}},
                      "apply.after_commit");
    auto& dev = testing::SampleClusters::get().dev();
    dev.stop_immediate();
    dev.start();
    s.restart({{"DATAFIX_FAULT", ""}});

    auto applies = runs_of(s, t, n, "apply");
    ASSERT_EQ(applies.size(), 1u);
    bool committed = family_name(s) == "Renamed\n";
    EXPECT_EQ(applies[0]["state"], committed ? "succeeded" : "rolled_back") << applies[0].dump();
    Answer retry = s.post(t.dana, env_path(n, "dev", "apply"), {{"fingerprint", approved}});
    EXPECT_EQ(retry.status, committed ? 409 : 200) << retry.body.dump();
    EXPECT_EQ(family_name(s), "Renamed\n") << "committed exactly once";
    expect_audit_intact(s, t);
}

}  // namespace
}  // namespace datafix::e2e
