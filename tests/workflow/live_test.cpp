// Live mode's rules: only the driver starts a live run, only the pair's approval of exactly what
// it shows lets it commit, a cancel or the end of its window ends it, and the product owner's
// approval and the backup of production still come first.
#include "scenario.hpp"
#include "workflow/progress.hpp"
#include "workflow/reading.hpp"

namespace datafix::workflow::testing {
namespace {

class LiveTest : public ::testing::Test {
  protected:
    Scenario s;

    void SetUp() override {
        for (auto& env : s.config.environments) {
            env.live = true;
            env.live_window = std::chrono::minutes(2);
        }
        s.claim_and_pair();
        s.ok(s.driver, Scenario::change());
    }

    // Starts a live run in `env` and records what it shows; returns its number.
    int open_live(const std::string& env, const std::string& fingerprint) {
        int run = *s.ok(s.driver, StartLive{env}).run;
        s.ok(s.driver, RecordLiveEvidence{run, fingerprint, {1}, "/data/run.evidence", "[]"});
        return run;
    }

    const model::Run& run(int number) { return *reading::find_run(s.state, number); }
};

TEST_F(LiveTest, ThePairsApprovalLetsTheOpenTransactionCommitOnce) {
    int live = open_live("dev", "fp-live-1");
    EXPECT_EQ(run(live).kind, model::RunKind::live);
    EXPECT_EQ(run(live).state, model::RunState::running);
    // Before the pair approves, the run cannot reach COMMIT.
    s.refused(s.driver, RecordInFlight{live, 100, 200}, "live-not-approved");
    s.ok(s.pair, ApproveLive{"dev", s.revision(), "fp-live-1"});
    s.refused(s.pair, ApproveLive{"dev", s.revision(), "fp-live-1"}, "already-approved");
    s.ok(s.driver, RecordInFlight{live, 100, 200});
    s.ok(s.driver, FinishRun{live, RunOutcome::succeeded, {1}});
    // Committed, it is dev's apply: test comes next, and dev cannot run it again.
    EXPECT_NE(reading::applied_run(s.state, "dev", 1), nullptr);
    s.refused(s.driver, StartLive{"dev"}, "environment-applied");
    s.ok(s.driver, StartLive{"test"});
}

TEST_F(LiveTest, TheDriverCannotApproveOrCommitAlone) {
    int live = open_live("dev", "fp-live-1");
    s.refused(s.driver, ApproveLive{"dev", s.revision(), "fp-live-1"}, "no-self-approval");
    s.refused(s.other_dev, ApproveLive{"dev", s.revision(), "fp-live-1"}, "pair-approves");
    s.refused(s.po, ApproveLive{"dev", s.revision(), "fp-live-1"}, "pair-approves");
    s.refused(s.driver, RecordInFlight{live, 100, 200}, "live-not-approved");
    // The pair approves only what the run shows.
    s.refused(s.pair, ApproveLive{"dev", s.revision(), "fp-other"}, "evidence-stale");
}

TEST_F(LiveTest, OnlyTheDriverStartsAndOnlyWhereTheEnvironmentAllowsIt) {
    s.refused(s.pair, StartLive{"dev"}, "driver-only");
    s.config.environments[0].live = false;
    s.refused(s.driver, StartLive{"dev"}, "live-off");
}

TEST_F(LiveTest, ACancelEndsTheRunAndVoidsNothingThatCouldCommitLater) {
    int live = open_live("dev", "fp-live-1");
    s.refused(s.other_dev, EndLive{live, LiveEnd::cancelled}, "live-cancel");
    s.ok(s.pair, EndLive{live, LiveEnd::cancelled});
    EXPECT_EQ(run(live).state, model::RunState::failed);
    s.refused(s.pair, ApproveLive{"dev", s.revision(), "fp-live-1"}, "live-not-open");
    s.refused(s.driver, RecordInFlight{live, 100, 200}, "run-not-running");
}

TEST_F(LiveTest, AnApprovalOfALiveRunThatDidNotCommitLetsNothingElseCommit) {
    int live = open_live("dev", "fp-live-1");
    s.ok(s.pair, ApproveLive{"dev", s.revision(), "fp-live-1"});
    // Its COMMIT failed (a deferred constraint, say): rolled back.
    s.ok(s.driver, FinishRun{live, RunOutcome::failed, {}, "", "", "", "", "database: refused"});
    // A preview that shows the same evidence needs its own approval.
    int preview = *s.ok(s.driver, StartPreview{"dev"}).run;
    s.ok(s.driver, FinishRun{preview, RunOutcome::succeeded, {1}, "fp-live-1"});
    s.refused(s.driver, StartApply{"dev", "fp-live-1"}, "evidence-not-approved");
}

TEST_F(LiveTest, TheWindowEndsApprovalsAndACommitInFlightCannotBeCancelled) {
    int live = open_live("dev", "fp-live-1");
    s.advance(std::chrono::minutes(2) + std::chrono::seconds(1));
    s.refused(s.pair, ApproveLive{"dev", s.revision(), "fp-live-1"}, "live-window-ended");
    // Only the run's starter (the executor acting for the driver) records the window's end.
    s.refused(s.pair, EndLive{live, LiveEnd::window_ended}, "live-cancel");
    s.ok(s.driver, EndLive{live, LiveEnd::window_ended});
    EXPECT_EQ(run(live).state, model::RunState::failed);

    int second = open_live("dev", "fp-live-2");
    s.ok(s.pair, ApproveLive{"dev", s.revision(), "fp-live-2"});
    s.refused(s.driver, EndLive{second, LiveEnd::cancelled}, "live-committing");
    s.refused(s.driver, EndLive{second, LiveEnd::window_ended}, "live-committing");
}

TEST_F(LiveTest, ProductionStillNeedsTheProductOwnerAndItsBackup) {
    s.config.environments[2].needs_backup = true;
    s.promote("dev");
    s.promote("test");
    s.refused(s.driver, StartLive{"prod"}, "product-owner-approval-required");
    s.ok(s.po, ApproveProduction{s.revision()});
    s.refused(s.driver, StartLive{"prod"}, "backup-required");
    s.ok(s.driver, RecordBackup{"prod", true, s.now, 10, "sha", "/backups/1"});
    int live = open_live("prod", "fp-prod");
    s.ok(s.pair, ApproveLive{"prod", s.revision(), "fp-prod"});
    s.ok(s.driver, RecordInFlight{live, 100, 200});
    s.ok(s.driver, FinishRun{live, RunOutcome::succeeded, {1}});
    EXPECT_EQ(s.state.request.status, model::RequestStatus::done);
}

TEST_F(LiveTest, TheProgressCarriesTheDeadline) {
    open_live("dev", "fp-live-1");
    Progress progress = summarize(s.state, s.config, s.now);
    ASSERT_EQ(progress.environments.front().live_run, 1);
    EXPECT_EQ(progress.environments.front().live_fingerprint, "fp-live-1");
    ASSERT_TRUE(progress.environments.front().live_deadline.has_value());
    EXPECT_EQ(*progress.environments.front().live_deadline, s.now + std::chrono::minutes(2));
    EXPECT_EQ(progress.environments.front().stage, Stage::running);
    // The open transaction waits on the pair, by name.
    NextStep next = next_step(s.state, s.config, s.now);
    EXPECT_EQ(next.step, "approve");
    EXPECT_EQ(next.owner, Owner::pair);
    EXPECT_EQ(next.environment, "dev");
}

}  // namespace
}  // namespace datafix::workflow::testing
