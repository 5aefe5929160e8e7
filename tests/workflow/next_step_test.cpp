// The next step of a request and who owns it (workflow::next_step), as the inbox shows it; and a
// new revision after dev and test were applied: their data is put back first, each revert
// approved by the pair, then the request starts again at dev.
#include "scenario.hpp"
#include "workflow/progress.hpp"

namespace datafix::workflow::testing {

namespace {

void expect_next(const Scenario& s, const std::string& step, Owner owner, model::UserId person,
                 const std::string& words) {
    NextStep next = next_step(s.state, s.config, s.now);
    EXPECT_EQ(next.step, step) << next.what;
    EXPECT_EQ(next.owner, owner) << next.what;
    EXPECT_EQ(next.person, person) << next.what;
    EXPECT_NE(next.what.find(words), std::string::npos) << next.what;
}

}  // namespace

TEST(NextStep, FollowsTheRunbookWithItsOwners) {
    Scenario s;
    expect_next(s, "claim", Owner::developer, 0, "claims the request");
    s.ok(s.driver, ClaimRequest{});
    expect_next(s, "change", Owner::driver, s.driver.id, "attach the change");
    s.ok(s.driver, Scenario::change());
    expect_next(s, "preview", Owner::driver, s.driver.id, "preview revision 1 in dev");
    const std::string fp = s.preview("dev");
    // Nobody pairs yet: any developer may join to approve.
    expect_next(s, "pair", Owner::developer, 0, "joins as the pair");
    s.ok(s.pair, JoinPair{});
    expect_next(s, "approve", Owner::pair, s.pair.id, "approve the evidence of preview #1 in dev");
    s.ok(s.pair, ApproveEvidence{"dev", s.revision(), fp});
    expect_next(s, "apply", Owner::driver, s.driver.id, "apply the approved evidence in dev");
    int apply = *s.ok(s.driver, StartApply{"dev", fp}).run;
    expect_next(s, "running", Owner::running, s.driver.id, "is running");
    s.ok(s.driver, FinishRun{apply, RunOutcome::succeeded, {1}});
    s.promote("test");
    expect_next(s, "approve-prod", Owner::product_owner, s.po.id, "verify the change in test");
    s.ok(s.po, ApproveProduction{s.revision()});
    expect_next(s, "preview", Owner::driver, s.driver.id, "in prod");
    s.promote("prod");
    // Done: test data is put back by the last driver.
    expect_next(s, "revert", Owner::driver, s.driver.id, "put the data in dev and test back");
    for (const char* env : {"test", "dev"}) {
        int run = *s.ok(s.driver, StartRevert{env}).run;
        s.ok(s.driver, FinishRun{run, RunOutcome::succeeded, {1}});
    }
    expect_next(s, "none", Owner::nobody, 0, "applied everywhere");
}

TEST(NextStep, ExpiredLeaseAndInDoubtRun) {
    Scenario s;
    s.claim_and_pair();
    s.ok(s.driver, Scenario::change());
    const std::string fp = s.preview("dev");
    s.ok(s.pair, ApproveEvidence{"dev", s.revision(), fp});
    int apply = *s.ok(s.driver, StartApply{"dev", fp}).run;
    s.ok(s.driver, FinishRun{apply, RunOutcome::in_doubt, {}});
    expect_next(s, "resolve", Owner::driver, s.driver.id, "resolve run #2 in dev");
    s.ok(s.driver, ResolveInDoubt{apply, false});
    s.advance(s.config.lease + 1min);
    expect_next(s, "claim", Owner::driver, s.driver.id, "lease ended");
}

TEST(NextStep, CancelledRequestKeepsItsRevertsAndCannotBeClaimed) {
    Scenario s;
    s.claim_and_pair();
    s.ok(s.driver, Scenario::change());
    const std::string fp = s.promote("dev");
    const Consequences before = consequences(s.state, s.config);
    ASSERT_EQ(before.voided.size(), 1u);
    ASSERT_EQ(before.held.size(), 1u);
    EXPECT_EQ(before.held[0].environment, "dev");
    Decision d = s.ok(s.po, CancelRequest{"no longer needed"});
    EXPECT_NE(d.events.at(0).detail.find("voided_approvals=1"), std::string::npos);
    for (const model::Approval& a : s.state.approvals) {
        EXPECT_TRUE(a.voided);
    }
    expect_next(s, "revert", Owner::driver, s.driver.id, "put the data in dev back");
    s.refused(s.other_dev, ClaimRequest{}, "request-closed");
    s.refused(s.driver, ClaimRequest{}, "request-closed");
    int run = *s.ok(s.driver, StartRevert{"dev"}).run;
    s.ok(s.driver, FinishRun{run, RunOutcome::succeeded, {1}});
    expect_next(s, "none", Owner::nobody, 0, "cancelled");
    EXPECT_TRUE(held_changes(s.state, s.config).empty());
    (void)fp;
}

TEST(RevisionAfterApply, RevertsFirstWithThePairsApprovalThenStartsAtDev) {
    Scenario s;
    s.claim_and_pair();
    s.ok(s.driver, Scenario::change());
    s.promote("dev");
    s.promote("test");
    const std::string first = s.revision();
    AttachRevision second =
        Scenario::change("UPDATE app_public.intake SET name = 'Intake 5' WHERE id = 4");
    // Today's dead end is refused with the way out named.
    s.refused(s.driver, second, "revision-needs-revert");
    {
        Decision refused = decide(s.state, second, s.driver, s.now, s.config);
        EXPECT_NE(refused.refusal->message.find("dev and test"), std::string::npos);
        EXPECT_NE(refused.refusal->hint.find(
                      "datafix change 7 --change FILE --expect ROWS --revert-first"),
                  std::string::npos);
    }
    // Before the new revision, reverting outside production stays refused while the request
    // goes on, and needs no approval.
    s.refused(s.driver, StartRevert{"test"}, "revert-after-done");
    s.refused(s.pair, ApproveEmergencyRevert{"test", first}, "revert-approval-not-needed");
    EXPECT_NE(
        s.act(s.pair, ApproveEmergencyRevert{"test", first})
            .refusal->hint.find("datafix change 7 --change FILE --expect ROWS --revert-first"),
        std::string::npos);

    second.revert_first = true;
    s.ok(s.driver, second);
    EXPECT_EQ(stale_changes(s.state, s.config).size(), 2u);
    expect_next(s, "approve-revert", Owner::pair, s.pair.id,
                "approve the revert of test (test still holds revision 1");
    s.refused(s.driver, StartPreview{"dev"}, "revert-first");
    s.refused(s.driver, StartRevert{"test"}, "revert-approval");
    // Four eyes: the driver never approves; the approval names the revision test holds.
    s.refused(s.driver, ApproveEmergencyRevert{"test", first}, "no-self-approval");
    s.refused(s.other_dev, ApproveEmergencyRevert{"test", first}, "pair-approves");
    s.refused(s.pair, ApproveEmergencyRevert{"test", s.revision()}, "approval-of-applied-revision");
    s.ok(s.pair, ApproveEmergencyRevert{"test", first.substr(0, 12)});
    s.refused(s.pair, ApproveEmergencyRevert{"test", first}, "already-approved");
    EXPECT_EQ(s.act(s.pair, ApproveEmergencyRevert{"test", first}).refusal->hint,
              "the driver may revert (datafix revert 7 test)");
    expect_next(s, "revert", Owner::driver, s.driver.id, "revert test");
    s.refused(s.pair, StartRevert{"test"}, "driver-only");
    int run = *s.ok(s.driver, StartRevert{"test"}).run;
    s.ok(s.driver, FinishRun{run, RunOutcome::succeeded, {1}});
    expect_next(s, "approve-revert", Owner::pair, s.pair.id, "approve the revert of dev");
    s.refused(s.driver, StartPreview{"dev"}, "revert-first");
    s.ok(s.pair, ApproveEmergencyRevert{"dev", first});
    run = *s.ok(s.driver, StartRevert{"dev"}).run;
    s.ok(s.driver, FinishRun{run, RunOutcome::succeeded, {1}});
    EXPECT_TRUE(held_changes(s.state, s.config).empty());
    expect_next(s, "preview", Owner::driver, s.driver.id, "preview revision 2 in dev");
    s.promote("dev");
    s.promote("test");
    s.ok(s.po, ApproveProduction{s.revision()});
    s.promote("prod");
    EXPECT_EQ(s.state.request.status, model::RequestStatus::done);
}

TEST(RevisionAfterApply, PairWantedWhenNobodyPairs) {
    Scenario s;
    s.claim_and_pair();
    s.ok(s.driver, Scenario::change());
    s.promote("dev");
    s.ok(s.pair, LeavePair{});
    AttachRevision second =
        Scenario::change("UPDATE app_public.intake SET name = 'Intake 6' WHERE id = 4");
    second.revert_first = true;
    s.ok(s.driver, second);
    expect_next(s, "pair", Owner::developer, 0, "approve the revert of dev");
}

}  // namespace datafix::workflow::testing
