// Four eyes: the pair approves exact evidence; the requesting product owner approves prod.
#include "scenario.hpp"

namespace datafix::workflow::testing {

class Approval : public ::testing::Test {
  protected:
    void SetUp() override {
        s.claim_and_pair();
        s.ok(s.driver, Scenario::change());
        fp = s.preview("dev");
    }
    Scenario s;
    std::string fp;
};

TEST_F(Approval, SelfApprovalRefused) {
    s.refused(s.driver, ApproveEvidence{"dev", s.revision(), fp}, "no-self-approval");
}

TEST_F(Approval, OnlyThePairApproves) {
    s.refused(s.other_dev, ApproveEvidence{"dev", s.revision(), fp}, "pair-approves");
    s.refused(s.po, ApproveEvidence{"dev", s.revision(), fp}, "pair-approves");
    s.refused(s.admin, ApproveEvidence{"dev", s.revision(), fp}, "pair-approves");
}

TEST_F(Approval, ApprovalNamesExactEvidenceAndRevision) {
    s.refused(s.pair, ApproveEvidence{"dev", s.revision(), "another"}, "evidence-stale");
    s.refused(s.pair, ApproveEvidence{"dev", std::string(64, 'a'), fp},
              "approval-of-current-revision");
    s.refused(s.pair, ApproveEvidence{"test", s.revision(), fp}, "evidence-required");
    Decision d = s.ok(s.pair, ApproveEvidence{"dev", s.revision(), fp});
    const model::Approval& a = s.state.approvals.back();
    EXPECT_EQ(a.kind, model::ApprovalKind::evidence);
    EXPECT_EQ(a.fingerprint, fp);
    EXPECT_EQ(a.revision_hash, s.revision());
    EXPECT_EQ(a.approved_by, s.pair.id);
    EXPECT_EQ(d.events.at(0).action, "evidence.approved");
    s.refused(s.pair, ApproveEvidence{"dev", s.revision(), fp}, "already-approved");
}

TEST_F(Approval, ApprovalOfOlderRevisionRefused) {
    const std::string old_hash = s.revision();
    s.ok(s.driver, Scenario::change("UPDATE app_public.intake SET name = 'B' WHERE id = 4"));
    s.refused(s.pair, ApproveEvidence{"dev", old_hash, fp}, "approval-of-current-revision");
    // The old evidence belongs to revision 1: revision 2 has none yet.
    s.refused(s.pair, ApproveEvidence{"dev", s.revision(), fp}, "evidence-required");
}

TEST_F(Approval, ProductOwnerApprovesAfterTestApply) {
    s.ok(s.pair, ApproveEvidence{"dev", s.revision(), fp});
    s.refused(s.po, ApproveProduction{s.revision()}, "po-after-previous-apply");
    int run = *s.ok(s.driver, StartApply{"dev", fp}).run;
    s.ok(s.driver, FinishRun{run, RunOutcome::succeeded, {1}});
    s.refused(s.po, ApproveProduction{s.revision()}, "po-after-previous-apply");
    s.promote("test");
    s.refused(s.other_po, ApproveProduction{s.revision()}, "po-is-requester");
    s.refused(s.driver, ApproveProduction{s.revision()}, "po-is-requester");
    s.refused(s.pair, ApproveProduction{s.revision()}, "po-is-requester");
    s.refused(s.admin, ApproveProduction{s.revision()}, "po-is-requester");
    s.refused(s.po, ApproveProduction{std::string(64, 'b')}, "approval-of-current-revision");
    Decision d = s.ok(s.po, ApproveProduction{s.revision()});
    EXPECT_EQ(d.events.at(0).action, "production.approved");
    EXPECT_EQ(d.events.at(0).statement_hash, s.revision());
    EXPECT_EQ(s.state.approvals.back().environment, "prod");
    s.refused(s.po, ApproveProduction{s.revision()}, "already-approved");
}

TEST_F(Approval, ProductOwnerWhoIsDriverRefused) {
    // A requester recorded as a developer id (e.g. a data fix a developer filed for themself):
    // the approving requester still may not be the driver.
    s.state.request.requested_by = s.driver.id;
    s.refused(s.driver, ApproveProduction{s.revision()}, "po-is-independent");
}

TEST_F(Approval, RefusalCodesMapToRuleOrForbidden) {
    Decision self =
        decide(s.state, ApproveEvidence{"dev", s.revision(), fp}, s.driver, s.now, s.config);
    EXPECT_EQ(self.refusal->code, ErrorCode::rule);
    Decision po = decide(s.state, ApproveProduction{s.revision()}, s.other_po, s.now, s.config);
    EXPECT_EQ(po.refusal->code, ErrorCode::forbidden);
    Error e = to_error(*self.refusal);
    EXPECT_EQ(e.code(), ErrorCode::rule);
    EXPECT_NE(e.describe().find("no-self-approval"), std::string::npos);
}

}  // namespace datafix::workflow::testing
