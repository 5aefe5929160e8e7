// Crash-safe runs: a real server process killed with SIGKILL at a named fault point
// (core/fault.hpp) just before or just after an apply's COMMIT, then started again on the same
// ledger. The restarted server settles the run before it listens: committed exactly once, or not at
// all, and the ledger says which; a retry with the same approval applies once or is refused; the
// audit chain stays intact.
#include <gtest/gtest.h>

#include "crash_steps.hpp"

namespace datafix::e2e {
namespace {

TEST(Crash, KilledAfterCommitTheRestartedServerRecordsItCommittedAndARetryIsRefused) {
    ServerFixture s;
    Team t = make_team(s);
    long long n = file_request(s, t);
    std::string approved = approved_in_dev(s, t, n);
    ASSERT_NE(family_name(s), "Renamed\n");

    apply_until_killed(s, t, n, approved, "apply.after_commit");

    auto applies = runs_of(s, t, n, "apply");
    ASSERT_EQ(applies.size(), 1u);
    EXPECT_EQ(applies[0]["state"], "succeeded") << "settled from pg_xact_status and the images";
    EXPECT_EQ(family_name(s), "Renamed\n");
    EXPECT_NE(s.server_log().find("resolved as committed"), std::string::npos) << s.server_log();

    Answer again = s.post(t.dana, env_path(n, "dev", "apply"), {{"fingerprint", approved}});
    EXPECT_EQ(again.status, 409) << "the approval was consumed by the one commit: "
                                 << again.body.dump();
    EXPECT_EQ(runs_of(s, t, n, "apply").size(), 1u) << "the refused retry started no run";
    expect_audit_intact(s, t);
}

TEST(Crash, KilledBeforeCommitNothingChangedAndTheRetryAppliesOnce) {
    ServerFixture s;
    Team t = make_team(s);
    long long n = file_request(s, t);
    std::string approved = approved_in_dev(s, t, n);
    std::string before = family_name(s);

    apply_until_killed(s, t, n, approved, "apply.before_commit");

    auto applies = runs_of(s, t, n, "apply");
    ASSERT_EQ(applies.size(), 1u);
    EXPECT_EQ(applies[0]["state"], "rolled_back") << "its xid was recorded, its COMMIT never sent";
    EXPECT_EQ(family_name(s), before) << "nothing committed";

    Answer retry = s.post(t.dana, env_path(n, "dev", "apply"), {{"fingerprint", approved}});
    ASSERT_EQ(retry.status, 200) << retry.body.dump();
    EXPECT_EQ(retry.body["status"], "committed");
    EXPECT_EQ(family_name(s), "Renamed\n");
    auto after = runs_of(s, t, n, "apply");
    ASSERT_EQ(after.size(), 2u);
    EXPECT_EQ(after[1]["state"], "succeeded");
    Answer third = s.post(t.dana, env_path(n, "dev", "apply"), {{"fingerprint", approved}});
    EXPECT_EQ(third.status, 409) << third.body.dump();
    expect_audit_intact(s, t);
}

TEST(Crash, APreviewCutByAKillIsFailedAfterTheRestartAndCanBeRepeated) {
    ServerFixture s;
    Team t = make_team(s);
    long long n = file_request(s, t);
    prepare(s, t, n);
    s.restart({{"DATAFIX_FAULT", "preview.captured"}});
    post_until_killed(s, t.dana, env_path(n, "dev", "preview"), {}, "preview.captured");
    s.restart({{"DATAFIX_FAULT", ""}});
    auto previews = runs_of(s, t, n, "preview");
    ASSERT_EQ(previews.size(), 1u);
    EXPECT_EQ(previews[0]["state"], "failed") << "a preview never commits";
    Answer again = s.post(t.dana, env_path(n, "dev", "preview"), {});
    EXPECT_EQ(again.status, 200) << again.body.dump();
    expect_audit_intact(s, t);
}

}  // namespace
}  // namespace datafix::e2e
