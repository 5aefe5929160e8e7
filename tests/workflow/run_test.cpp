// Runs as states: failed, in doubt (and its resolution), reports from the run's starter only.
#include "scenario.hpp"

namespace datafix::workflow::testing {

class Runs : public ::testing::Test {
  protected:
    void SetUp() override {
        s.claim_and_pair();
        s.ok(s.driver, Scenario::change());
        fp = s.preview("dev");
        s.ok(s.pair, ApproveEvidence{"dev", s.revision(), fp});
        apply = *s.ok(s.driver, StartApply{"dev", fp}).run;
    }
    Scenario s;
    std::string fp;
    int apply = 0;
};

TEST_F(Runs, FailedApplyCanBeRetried) {
    Decision d =
        s.ok(s.driver,
             FinishRun{apply, RunOutcome::failed, {0}, "", "", "", "", "lock timeout on intake"});
    EXPECT_EQ(d.events.at(0).action, "apply.failed");
    EXPECT_EQ(s.state.runs.back().state, model::RunState::failed);
    EXPECT_EQ(s.state.runs.back().failure, "lock timeout on intake");
    // The failure text (which may quote values) is not in the audit event.
    EXPECT_EQ(d.events.at(0).detail.find("intake"), std::string::npos);
    s.ok(s.driver, StartApply{"dev", fp});
}

TEST_F(Runs, InDoubtBlocksTheEnvironmentUntilResolved) {
    s.ok(s.driver, RecordInFlight{apply, 777, 4242});
    EXPECT_EQ(s.state.runs.back().xid, 777);
    EXPECT_EQ(s.state.runs.back().backend_pid, 4242);
    Decision d = s.ok(s.driver, FinishRun{apply, RunOutcome::in_doubt});
    EXPECT_EQ(d.events.at(0).action, "apply.in_doubt");
    s.refused(s.driver, StartApply{"dev", fp}, "in-doubt-unresolved");
    s.refused(s.driver, StartPreview{"dev"}, "in-doubt-unresolved");
    s.refused(s.pair, ApproveEvidence{"dev", s.revision(), fp}, "in-doubt-unresolved");
    s.refused(s.driver, StartPreview{"test"}, "environment-order");
    s.refused(s.driver, Scenario::change("DELETE FROM t WHERE id = 9"), "in-doubt-unresolved");
    s.refused(s.driver, CancelRequest{}, "in-doubt-unresolved");
    s.refused(s.driver, ReleaseClaim{}, "in-doubt-unresolved");
    s.refused(s.other_dev, ResolveInDoubt{apply, true}, "run-owner");
    s.ok(s.driver, ResolveInDoubt{apply, true});
    EXPECT_EQ(s.state.runs.back().state, model::RunState::succeeded);
    s.refused(s.driver, ResolveInDoubt{apply, true}, "run-not-in-doubt");
    s.ok(s.driver, StartPreview{"test"});
}

TEST_F(Runs, InDoubtResolvedRolledBackAllowsRetry) {
    s.ok(s.driver, FinishRun{apply, RunOutcome::in_doubt});
    Decision d = s.ok(s.admin, ResolveInDoubt{apply, false});
    EXPECT_EQ(d.events.at(0).action, "apply.resolved_rolled_back");
    EXPECT_EQ(s.state.runs.back().state, model::RunState::rolled_back);
    s.refused(s.driver, StartPreview{"test"}, "environment-order");
    s.ok(s.driver, StartApply{"dev", fp});
}

TEST_F(Runs, ReportsOnlyFromStarter) {
    s.refused(s.pair, FinishRun{apply, RunOutcome::succeeded}, "run-owner");
    s.refused(s.driver, FinishRun{99, RunOutcome::succeeded}, "run-not-found");
    s.ok(s.driver, FinishRun{apply, RunOutcome::succeeded, {1}});
    s.refused(s.driver, FinishRun{apply, RunOutcome::succeeded}, "run-not-running");
    s.refused(s.driver, RecordInFlight{apply, 1, 2}, "run-not-running");
}

TEST_F(Runs, FinishAllowedAfterLeaseEnded) {
    s.advance(2h);  // a long apply: its outcome is recorded whatever the lease
    s.ok(s.driver, FinishRun{apply, RunOutcome::succeeded, {1}});
}

TEST(RunRules, PreviewNeverCommitsAndNeedsFingerprint) {
    Scenario s;
    s.ok(s.driver, ClaimRequest{});
    s.ok(s.driver, Scenario::change());
    int run = *s.ok(s.driver, StartPreview{"dev"}).run;
    s.refused(s.driver, RecordInFlight{run, 1, 2}, "run-never-commits");
    s.refused(s.driver, FinishRun{run, RunOutcome::in_doubt}, "run-never-commits");
    s.refused(s.driver, FinishRun{run, RunOutcome::succeeded}, "evidence-fingerprint-required");
    s.ok(s.driver, FinishRun{run, RunOutcome::failed});
    EXPECT_EQ(s.state.runs.back().state, model::RunState::failed);
    s.refused(s.driver, StartApply{"dev", ""}, "evidence-required");
}

}  // namespace datafix::workflow::testing
