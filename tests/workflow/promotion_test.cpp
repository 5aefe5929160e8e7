// Per environment in order: preview -> the pair approves that exact evidence -> apply; the
// product owner before prod; a new revision starts again at dev.
#include "scenario.hpp"

namespace datafix::workflow::testing {

TEST(Promotion, WholeRunbookEndsDone) {
    Scenario s;
    s.run_to_done();
    EXPECT_EQ(s.state.request.status, model::RequestStatus::done);
    EXPECT_EQ(s.state.runs.size(), 6u);
}

TEST(Promotion, DoneEventOnProdCommit) {
    Scenario s;
    s.claim_and_pair();
    s.ok(s.driver, Scenario::change());
    s.promote("dev");
    s.promote("test");
    s.ok(s.po, ApproveProduction{s.revision()});
    std::string fp = s.preview("prod");
    s.ok(s.pair, ApproveEvidence{"prod", s.revision(), fp});
    int run = *s.ok(s.driver, StartApply{"prod", fp}).run;
    Decision d = s.ok(s.driver, FinishRun{run, RunOutcome::succeeded, {1}});
    ASSERT_EQ(d.events.size(), 2u);
    EXPECT_EQ(d.events[0].action, "apply.committed");
    EXPECT_EQ(d.events[1].action, "request.done");
    EXPECT_EQ(d.events[1].statement_hash, s.revision());
    EXPECT_EQ(d.events[1].evidence_fingerprint, fp);
}

TEST(Promotion, PreviewNeedsRevision) {
    Scenario s;
    s.ok(s.driver, ClaimRequest{});
    s.refused(s.driver, StartPreview{"dev"}, "revision-required");
}

TEST(Promotion, OnlyDriverPreviews) {
    Scenario s;
    s.claim_and_pair();
    s.ok(s.driver, Scenario::change());
    s.refused(s.pair, StartPreview{"dev"}, "driver-only");
    s.refused(s.other_dev, StartPreview{"dev"}, "driver-only");
}

TEST(Promotion, UnknownEnvironment) {
    Scenario s;
    s.claim_and_pair();
    s.ok(s.driver, Scenario::change());
    s.refused(s.driver, StartPreview{"staging"}, "environment-unknown");
}

TEST(Promotion, TestBeforeDevRefused) {
    Scenario s;
    s.claim_and_pair();
    s.ok(s.driver, Scenario::change());
    s.refused(s.driver, StartPreview{"test"}, "environment-order");
    s.refused(s.driver, StartPreview{"prod"}, "environment-order");
    // A preview in dev is not enough: dev must be applied.
    std::string fp = s.preview("dev");
    s.refused(s.driver, StartPreview{"test"}, "environment-order");
    s.ok(s.pair, ApproveEvidence{"dev", s.revision(), fp});
    s.refused(s.driver, StartPreview{"test"}, "environment-order");
    int run = *s.ok(s.driver, StartApply{"dev", fp}).run;
    s.ok(s.driver, FinishRun{run, RunOutcome::succeeded, {1}});
    s.ok(s.driver, StartPreview{"test"});
}

TEST(Promotion, ProdBeforeProductOwnerApprovalRefused) {
    Scenario s;
    s.claim_and_pair();
    s.ok(s.driver, Scenario::change());
    s.promote("dev");
    s.promote("test");
    s.refused(s.driver, StartPreview{"prod"}, "product-owner-approval-required");
    s.ok(s.po, ApproveProduction{s.revision()});
    s.ok(s.driver, StartPreview{"prod"});
}

TEST(Promotion, AlreadyAppliedEnvironment) {
    Scenario s;
    s.claim_and_pair();
    s.ok(s.driver, Scenario::change());
    s.promote("dev");
    s.refused(s.driver, StartPreview{"dev"}, "environment-applied");
}

TEST(Promotion, ApplyNeedsApprovedLatestEvidence) {
    Scenario s;
    s.claim_and_pair();
    s.ok(s.driver, Scenario::change());
    s.refused(s.driver, StartApply{"dev", "none"}, "evidence-required");
    std::string first = s.preview("dev");
    s.refused(s.driver, StartApply{"dev", first}, "evidence-not-approved");
    s.ok(s.pair, ApproveEvidence{"dev", s.revision(), first});
    std::string second = s.preview("dev");  // new evidence: the approval was for the first one
    s.refused(s.driver, StartApply{"dev", first}, "evidence-stale");
    s.refused(s.driver, StartApply{"dev", second}, "evidence-not-approved");
    s.refused(s.pair, ApproveEvidence{"dev", s.revision(), first}, "evidence-stale");
    s.ok(s.pair, ApproveEvidence{"dev", s.revision(), second});
    Decision d = s.ok(s.driver, StartApply{"dev", second});
    EXPECT_EQ(s.state.runs.back().fingerprint, second);
    EXPECT_EQ(d.events.at(0).evidence_fingerprint, second);
}

TEST(Promotion, OneRunAtATime) {
    Scenario s;
    s.claim_and_pair();
    s.ok(s.driver, Scenario::change());
    s.ok(s.driver, StartPreview{"dev"});
    s.refused(s.driver, StartPreview{"dev"}, "run-in-progress");
    s.refused(s.driver, Scenario::change("DELETE FROM t WHERE id = 2"), "run-in-progress");
}

TEST(Promotion, NewRevisionVoidsApprovalsAndStartsAtDev) {
    Scenario s;
    s.claim_and_pair();
    s.ok(s.driver, Scenario::change());
    s.promote("dev");
    s.promote("test");
    s.ok(s.po, ApproveProduction{s.revision()});
    const std::string old_hash = s.revision();
    // dev and test hold revision 1: the new revision is attached only with their reverts first.
    AttachRevision second =
        Scenario::change("UPDATE app_public.intake SET name = 'Intake 3' WHERE id = 4");
    s.refused(s.driver, second, "revision-needs-revert");
    second.revert_first = true;
    Decision d = s.ok(s.driver, second);
    EXPECT_EQ(s.state.revisions.size(), 2u);
    EXPECT_EQ(s.state.revisions.back().number, 2);
    EXPECT_NE(s.revision(), old_hash);
    for (const model::Approval& a : s.state.approvals) {
        EXPECT_TRUE(a.voided);
    }
    EXPECT_NE(d.events.at(0).detail.find("voided_approvals=3"), std::string::npos);
    EXPECT_NE(d.events.at(0).detail.find("revert_first=dev,test"), std::string::npos);
    s.refused(s.driver, StartPreview{"dev"}, "revert-first");
    for (const char* env : {"test", "dev"}) {
        s.ok(s.pair, ApproveEmergencyRevert{env, old_hash});
        int run = *s.ok(s.driver, StartRevert{env}).run;
        s.ok(s.driver, FinishRun{run, RunOutcome::succeeded, {1}});
    }
    s.refused(s.driver, StartPreview{"test"}, "environment-order");
    s.refused(s.driver, StartPreview{"prod"}, "environment-order");
    s.promote("dev");
    s.promote("test");
    s.refused(s.driver, StartPreview{"prod"}, "product-owner-approval-required");
    s.refused(s.po, ApproveProduction{old_hash}, "approval-of-current-revision");
    s.ok(s.po, ApproveProduction{s.revision()});
    s.promote("prod");
    EXPECT_EQ(s.state.request.status, model::RequestStatus::done);
}

TEST(Promotion, IdenticalRevisionRefused) {
    Scenario s;
    s.ok(s.driver, ClaimRequest{});
    s.ok(s.driver, Scenario::change());
    s.refused(s.driver, Scenario::change(), "revision-unchanged");
}

TEST(Promotion, EmptyRevisionRefused) {
    Scenario s;
    s.ok(s.driver, ClaimRequest{});
    AttachRevision empty;
    s.refused(s.driver, empty, "revision-empty");
    AttachRevision negative = Scenario::change();
    negative.statements[0].expected_rows = -1;
    s.refused(s.driver, negative, "expected-rows-required");
}

TEST(Promotion, RevisionHashCoversCountsAndVerify) {
    AttachRevision a = Scenario::change();
    AttachRevision b = a;
    b.statements[0].expected_rows = 2;
    AttachRevision c = a;
    c.verify_sql += " ";
    const std::string ha = revision_hash(a.change_sql, a.verify_sql, a.statements, a.all_rows);
    EXPECT_EQ(ha.size(), 64u);
    EXPECT_NE(ha, revision_hash(b.change_sql, b.verify_sql, b.statements, b.all_rows));
    EXPECT_NE(ha, revision_hash(c.change_sql, c.verify_sql, c.statements, c.all_rows));
    EXPECT_NE(ha, revision_hash(a.change_sql, a.verify_sql, a.statements, true));
}

TEST(Promotion, RevisionRecordsHashesAndAttacher) {
    Scenario s;
    s.ok(s.driver, ClaimRequest{});
    Decision d = s.ok(s.driver, Scenario::change());
    const model::Revision& r = *s.state.current_revision();
    EXPECT_EQ(r.number, 1);
    EXPECT_EQ(r.attached_by, s.driver.id);
    EXPECT_EQ(r.change_hash.size(), 64u);
    EXPECT_EQ(d.events.at(0).statement_hash, r.hash);
    // The audit event carries no statement text.
    EXPECT_EQ(d.events.at(0).detail.find("Intake"), std::string::npos);
}

}  // namespace datafix::workflow::testing
