// A request's conversation: comments by its people, and "request changes", which sends the
// request back to its driver: pending approvals are voided and new ones wait for the driver's
// answer (a new preview or a new revision).
#include <gtest/gtest.h>

#include "scenario.hpp"
#include "workflow/progress.hpp"
#include "workflow/reading.hpp"

namespace datafix::workflow::testing {

namespace {

int valid_approvals(const model::RequestState& state) {
    int n = 0;
    for (const auto& a : state.approvals) {
        n += a.voided ? 0 : 1;
    }
    return n;
}

}  // namespace

TEST(Conversation, PeopleOfTheRequestCommentAndTheAuditKeepsOnlyTheNumber) {
    Scenario s;
    s.claim_and_pair();
    auto d = s.ok(s.po, AddComment{"please keep the old value of APP-0000017 in mind"});
    ASSERT_EQ(s.state.comments.size(), 1u);
    const auto& c = s.state.comments.front();
    EXPECT_EQ(c.number, 1);
    EXPECT_EQ(c.kind, model::CommentKind::comment);
    EXPECT_EQ(c.author, s.po.id);
    EXPECT_EQ(c.text, "please keep the old value of APP-0000017 in mind");
    ASSERT_EQ(d.events.size(), 1u);
    EXPECT_EQ(d.events[0].action, "comment.added");
    EXPECT_EQ(d.events[0].detail, "comment=1");
    s.ok(s.driver, AddComment{"noted"});
    EXPECT_EQ(s.state.comments.back().number, 2);
}

TEST(Conversation, OutsidersAndEmptyCommentsAreRefused) {
    Scenario s;
    s.claim_and_pair();
    s.refused(s.other_dev, AddComment{"drive-by"}, "comment-by-member");
    s.refused(s.admin, AddComment{"admins manage people, they do not read requests"},
              "comment-by-member");
    s.refused(s.pair, AddComment{"  \n"}, "comment-empty");
    s.refused(s.pair, AddComment{std::string(9000, 'x')}, "comment-too-long");
}

TEST(Conversation, ThePairRequestsChangesAndTheDriverMustPreviewAgain) {
    Scenario s;
    s.claim_and_pair();
    s.ok(s.driver, Scenario::change());
    const std::string fingerprint = s.preview("dev");
    s.ok(s.pair, ApproveEvidence{"dev", s.revision(), fingerprint});
    ASSERT_EQ(valid_approvals(s.state), 1);

    auto d = s.ok(s.pair, RequestChanges{"the WHERE should name the application number"});
    EXPECT_EQ(valid_approvals(s.state), 0) << "the pending evidence approval is voided";
    ASSERT_EQ(d.events.size(), 1u);
    EXPECT_EQ(d.events[0].action, "changes.requested");
    EXPECT_EQ(d.events[0].detail, "comment=1 revision=1 voided=1");
    EXPECT_EQ(d.events[0].detail.find("WHERE"), std::string::npos) << "the reason stays private";
    EXPECT_EQ(s.state.comments.back().kind, model::CommentKind::changes_requested);
    ASSERT_NE(reading::pending_changes_request(s.state), nullptr);

    // The request is with the driver: the old evidence cannot be approved again, nor applied.
    s.refused(s.pair, ApproveEvidence{"dev", s.revision(), fingerprint}, "changes-requested");
    s.refused(s.driver, StartApply{"dev", fingerprint}, "evidence-not-approved");
    // The inbox offers the step the rules allow: the driver's new preview, not an approval.
    NextStep next = next_step(s.state, s.config, s.now);
    EXPECT_EQ(next.step, "preview");
    EXPECT_EQ(next.owner, Owner::driver);
    EXPECT_EQ(next.person, s.driver.id);
    EXPECT_EQ(next.environment, "dev");
    EXPECT_EQ(next.what,
              "answer the requested changes: preview revision 1 in dev again, or attach a new "
              "revision");

    // The driver answers with a new preview; the pair may approve that.
    const std::string again = s.preview("dev");
    EXPECT_EQ(reading::pending_changes_request(s.state), nullptr);
    s.ok(s.pair, ApproveEvidence{"dev", s.revision(), again});
}

TEST(Conversation, TheProductOwnerRequestsChangesBeforeProdAndANewRevisionAnswers) {
    Scenario s;
    s.claim_and_pair();
    s.ok(s.driver, Scenario::change());
    s.promote("dev");
    s.promote("test");
    s.ok(s.po, ApproveProduction{s.revision()});
    ASSERT_TRUE(reading::product_owner_approved(s.state, 1));

    s.ok(s.po, RequestChanges{"the status should be withdrawn, not received"});
    EXPECT_FALSE(reading::product_owner_approved(s.state, 1)) << "the prod approval is voided";
    // Approvals already used by an apply stay as they were: they are history, not pending.
    int used = 0;
    for (const auto& a : s.state.approvals) {
        used += (a.kind == model::ApprovalKind::evidence && !a.voided) ? 1 : 0;
    }
    EXPECT_EQ(used, 2);
    s.refused(s.po, ApproveProduction{s.revision()}, "changes-requested");
    s.refused(s.driver, StartPreview{"prod"}, "product-owner-approval-required");
    // Prod cannot be previewed before its approval: the driver's step is a new revision.
    NextStep next = next_step(s.state, s.config, s.now);
    EXPECT_EQ(next.step, "change");
    EXPECT_EQ(next.owner, Owner::driver);
    EXPECT_EQ(next.what, "answer the requested changes: attach a new revision");

    // A new revision (dev and test first put back, as they hold the old one) starts again at
    // dev; the request for changes is answered.
    s.revise("UPDATE app_public.intake SET name = 'Intake 3' WHERE id = 4");
    EXPECT_EQ(reading::pending_changes_request(s.state), nullptr);
}

TEST(Conversation, OnlyThePairOrTheRequestingProductOwnerRequestChanges) {
    Scenario s;
    s.claim_and_pair();
    s.refused(s.pair, RequestChanges{"nothing to review yet"}, "revision-required");
    s.ok(s.driver, Scenario::change());
    s.refused(s.driver, RequestChanges{"my own change"}, "changes-by-reviewer");
    s.refused(s.other_dev, RequestChanges{"not mine"}, "changes-by-reviewer");
    s.refused(s.other_po, RequestChanges{"not my request"}, "changes-by-reviewer");
    s.refused(s.pair, RequestChanges{""}, "reason-empty");
    s.ok(s.pair, RequestChanges{"split it in two statements"});
}

TEST(Conversation, ADoneRequestTakesCommentsButNoRequestForChanges) {
    Scenario s;
    s.run_to_done();
    s.refused(s.po, RequestChanges{"too late"}, "request-done");
    s.ok(s.po, AddComment{"thank you, the applicant confirmed"});
}

}  // namespace datafix::workflow::testing
