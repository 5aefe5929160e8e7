// After prod: done, reverts of test (and of prod in an emergency, with a new pair approval);
// cancelling before prod only.
#include "scenario.hpp"

namespace datafix::workflow::testing {

TEST(Revert, TestDataAfterDone) {
    Scenario s;
    s.claim_and_pair();
    s.ok(s.driver, Scenario::change());
    s.promote("dev");
    s.promote("test");
    s.refused(s.driver, StartRevert{"test"}, "revert-after-done");
    s.ok(s.po, ApproveProduction{s.revision()});
    s.promote("prod");
    s.refused(s.driver, StartRevert{"qa"}, "environment-unknown");
    s.refused(s.pair, StartRevert{"test"}, "driver-only");
    Decision d = s.ok(s.driver, StartRevert{"test"});
    const model::Run& run = s.state.runs.back();
    EXPECT_EQ(run.kind, model::RunKind::revert);
    EXPECT_EQ(d.events.at(0).action, "revert.started");
    s.ok(s.driver, FinishRun{*d.run, RunOutcome::succeeded, {1}});
    EXPECT_EQ(s.state.request.status, model::RequestStatus::done);
    s.refused(s.driver, StartRevert{"test"}, "nothing-to-revert");
}

TEST(Revert, ProdNeedsEmergencyApproval) {
    Scenario s;
    s.run_to_done();
    s.refused(s.driver, StartRevert{"prod"}, "emergency-revert-approval");
    s.refused(s.driver, ApproveEmergencyRevert{"prod", s.revision()}, "no-self-approval");
    s.refused(s.other_dev, ApproveEmergencyRevert{"prod", s.revision()}, "pair-approves");
    s.refused(s.pair, ApproveEmergencyRevert{"test", s.revision()}, "revert-approval-not-needed");
    s.refused(s.pair, ApproveEmergencyRevert{"prod", std::string(64, 'c')},
              "approval-of-current-revision");
    Decision a = s.ok(s.pair, ApproveEmergencyRevert{"prod", s.revision()});
    EXPECT_EQ(a.events.at(0).action, "revert.approved");
    s.refused(s.pair, ApproveEmergencyRevert{"prod", s.revision()}, "already-approved");
    int run = *s.ok(s.driver, StartRevert{"prod"}).run;
    s.ok(s.driver, FinishRun{run, RunOutcome::succeeded, {1}});
    s.refused(s.driver, StartRevert{"prod"}, "nothing-to-revert");
}

TEST(Revert, EmergencyApprovalOnlyWhenDone) {
    Scenario s;
    s.claim_and_pair();
    s.ok(s.driver, Scenario::change());
    s.refused(s.pair, ApproveEmergencyRevert{"prod", s.revision()}, "revert-after-done");
}

TEST(Revert, NothingAfterDoneButReverts) {
    Scenario s;
    s.run_to_done();
    s.refused(s.driver, Scenario::change("DELETE FROM t WHERE id = 3"), "request-done");
    s.refused(s.driver, StartPreview{"prod"}, "request-done");
}

TEST(Cancel, BeforeProdByDriverProductOwnerOrAdmin) {
    Scenario s;
    s.claim_and_pair();
    s.ok(s.driver, Scenario::change());
    s.promote("dev");
    s.refused(s.pair, CancelRequest{}, "cancel-by-owner");
    s.refused(s.other_po, CancelRequest{}, "cancel-by-owner");
    Decision d = s.ok(s.po, CancelRequest{"no longer needed"});
    EXPECT_EQ(s.state.request.status, model::RequestStatus::cancelled);
    EXPECT_EQ(d.events.at(0).action, "request.cancelled");
    // The free-text reason stays out of the audit; what the cancel voided is in it.
    EXPECT_EQ(d.events.at(0).detail, "voided_approvals=1");
    s.refused(s.driver, CancelRequest{}, "request-cancelled");
    s.refused(s.driver, StartPreview{"test"}, "request-cancelled");
    // Data already changed in dev can be put back.
    int run = *s.ok(s.driver, StartRevert{"dev"}).run;
    s.ok(s.driver, FinishRun{run, RunOutcome::succeeded, {1}});
}

TEST(Cancel, AfterProdRefused) {
    Scenario s;
    s.run_to_done();
    s.refused(s.po, CancelRequest{}, "cancel-after-prod");
    s.refused(s.admin, CancelRequest{}, "cancel-after-prod");
}

TEST(Cancel, DriverAndAdminMayCancel) {
    Scenario a;
    a.ok(a.driver, ClaimRequest{});
    a.ok(a.driver, CancelRequest{});
    Scenario b;
    b.ok(b.admin, CancelRequest{});
}

TEST(Cancel, RefusedWhileRunning) {
    Scenario s;
    s.ok(s.driver, ClaimRequest{});
    s.ok(s.driver, Scenario::change());
    s.ok(s.driver, StartPreview{"dev"});
    s.refused(s.po, CancelRequest{}, "run-in-progress");
}

}  // namespace datafix::workflow::testing
