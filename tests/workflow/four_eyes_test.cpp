// Four eyes by person and by history: whoever drove a request (claimed it, wrote a revision,
// previewed) never approves on it, even after releasing the claim; an approver never drives it;
// a token an admin issued for someone counts as that admin's too, so an admin who rotated the
// tokens of the driver, the pair and the product owner cannot complete the request alone.
#include "scenario.hpp"

namespace datafix::workflow::testing {

namespace {

// What the review did: wrote and previewed, released the claim, joined as the pair.
struct FormerDriverAsPair : Scenario {
    std::string fingerprint;
    FormerDriverAsPair() {
        ok(driver, ClaimRequest{});
        ok(driver, change());
        fingerprint = preview("dev");
        ok(driver, ReleaseClaim{});
        ok(driver, JoinPair{});
        ok(other_dev, ClaimRequest{});
    }
};

}  // namespace

TEST(FourEyes, DriverWhoReleasedAndJoinedAsPairCannotApprove) {
    FormerDriverAsPair s;
    Decision d = decide(s.state, ApproveEvidence{"dev", s.revision(), s.fingerprint}, s.driver,
                        s.now, s.config);
    ASSERT_FALSE(d.allowed());
    EXPECT_EQ(d.refusal->rule, "four-eyes-history");
    EXPECT_NE(d.refusal->message.find("you drove it"), std::string::npos) << d.refusal->message;
    EXPECT_NE(d.refusal->message.find("request 7"), std::string::npos);
    EXPECT_NE(d.refusal->hint.find("someone who never drove it"), std::string::npos)
        << d.refusal->hint;
    s.refused(s.driver, ApproveEvidence{"dev", s.revision(), s.fingerprint}, "four-eyes-history");
}

TEST(FourEyes, ParticipantsAreKeptAfterTheClaimIsReleased) {
    FormerDriverAsPair s;
    EXPECT_EQ(s.state.participants.drove, (std::vector<model::UserId>{2, 4}));
    EXPECT_TRUE(s.state.participants.paired.empty());
}

TEST(FourEyes, AFreshPairStillApproves) {
    FormerDriverAsPair s;
    s.ok(s.driver, LeavePair{});
    s.ok(s.pair, JoinPair{});
    s.ok(s.pair, ApproveEvidence{"dev", s.revision(), s.fingerprint});
    EXPECT_EQ(s.state.participants.paired, (std::vector<model::UserId>{3}));
}

TEST(FourEyes, AnApproverNeverDrivesTheRequest) {
    Scenario s;
    s.claim_and_pair();
    s.ok(s.driver, Scenario::change());
    std::string fp = s.preview("dev");
    s.ok(s.pair, ApproveEvidence{"dev", s.revision(), fp});
    s.ok(s.pair, LeavePair{});  // voids the approval, not the history
    s.ok(s.driver, ReleaseClaim{});
    s.refused(s.pair, ClaimRequest{}, "four-eyes-history");
    model::Person third = person(9, "tara.dev", model::Role::developer);
    s.ok(third, ClaimRequest{});
    s.refused(third, HandOver{s.pair}, "four-eyes-history");
}

TEST(FourEyes, FormerDriverCannotApproveAnEmergencyRevert) {
    Scenario s;
    s.run_to_done();
    // The driver of a done request cannot approve its prod revert by becoming the pair.
    s.ok(s.pair, LeavePair{});
    s.ok(s.driver, ReleaseClaim{});
    s.ok(s.driver, JoinPair{});  // joining is allowed; approving is not
    s.refused(s.driver, ApproveEmergencyRevert{"prod", s.revision()}, "four-eyes-history");
}

TEST(FourEyes, AdminWhoRotatedEveryTokenCannotCompleteAlone) {
    Scenario s;
    // The admin (id 5) rotated the tokens of the driver, the pair and the product owner: steps
    // taken with those tokens count as the admin's too.
    model::Person driver = s.driver;
    driver.token_issued_by = s.admin.id;
    model::Person pair = s.pair;
    pair.token_issued_by = s.admin.id;
    model::Person po = s.po;
    po.token_issued_by = s.admin.id;
    s.ok(driver, ClaimRequest{});
    s.ok(pair, JoinPair{});
    s.ok(driver, Scenario::change());
    int run = *s.ok(driver, StartPreview{"dev"}).run;
    s.ok(driver, FinishRun{run, RunOutcome::succeeded, {1}, "fp-dev"});
    EXPECT_EQ(s.state.participants.drove, (std::vector<model::UserId>{2, 5}));
    Decision d =
        decide(s.state, ApproveEvidence{"dev", s.revision(), "fp-dev"}, pair, s.now, s.config);
    ASSERT_FALSE(d.allowed());
    EXPECT_EQ(d.refusal->rule, "four-eyes-token-issuer");
    EXPECT_NE(d.refusal->message.find("issued by admin 5"), std::string::npos)
        << d.refusal->message;
    EXPECT_NE(d.refusal->hint.find("another admin"), std::string::npos);
    // The real pair's own token approves.
    s.ok(s.pair, ApproveEvidence{"dev", s.revision(), "fp-dev"});
}

TEST(FourEyes, RotatedPairAndProductOwnerCannotBothBeTheAdmin) {
    Scenario s;
    model::Person pair = s.pair;
    pair.token_issued_by = s.admin.id;
    model::Person po = s.po;
    po.token_issued_by = s.admin.id;
    s.ok(s.driver, ClaimRequest{});
    s.ok(pair, JoinPair{});
    s.ok(s.driver, Scenario::change());
    for (const char* env : {"dev", "test"}) {
        const std::string fp = std::string("fp-") + env;
        int run = *s.ok(s.driver, StartPreview{env}).run;
        s.ok(s.driver, FinishRun{run, RunOutcome::succeeded, {1}, fp});
        s.ok(pair, ApproveEvidence{env, s.revision(), fp});
        int apply = *s.ok(s.driver, StartApply{env, fp}).run;
        s.ok(s.driver, RecordInFlight{apply, 1, 2});
        s.ok(s.driver, FinishRun{apply, RunOutcome::succeeded, {1}});
    }
    EXPECT_EQ(s.state.participants.paired, (std::vector<model::UserId>{3, 5}));
    s.refused(po, ApproveProduction{s.revision()}, "four-eyes-token-issuer");
    s.ok(s.po, ApproveProduction{s.revision()});
    EXPECT_EQ(s.state.participants.product_owners, (std::vector<model::UserId>{1}));
}

TEST(FourEyes, AProductOwnerApprovesEachRevision) {
    // Approving revision 1 puts the product owner on their side, which does not stop them
    // approving revision 2.
    Scenario s;
    s.claim_and_pair();
    s.ok(s.driver, Scenario::change());
    s.promote("dev");
    s.promote("test");
    s.ok(s.po, ApproveProduction{s.revision()});
    s.revise("UPDATE app_public.intake SET name = 'x' WHERE id = 5");
    s.promote("dev");
    s.promote("test");
    s.ok(s.po, ApproveProduction{s.revision()});
}

TEST(ClaimClosed, NobodyClaimsADoneOrCancelledRequest) {
    Scenario s;
    s.run_to_done();
    s.advance(31min);
    for (const model::Person* who : {&s.driver, &s.other_dev}) {
        Decision d = decide(s.state, ClaimRequest{}, *who, s.now, s.config);
        ASSERT_FALSE(d.allowed());
        EXPECT_EQ(d.refusal->rule, "request-closed");
        EXPECT_NE(d.refusal->message.find("only open requests can be claimed"), std::string::npos);
    }
    // Its driver still reverts without a lease: nobody can take the claim away.
    s.ok(s.driver, StartRevert{"test"});
    s.refused(s.driver, HandOver{s.other_dev}, "request-done");

    Scenario c;
    c.claim_and_pair();
    c.ok(c.po, CancelRequest{"no longer needed"});
    c.refused(c.other_dev, ClaimRequest{}, "request-closed");
    c.refused(c.driver, ClaimRequest{}, "request-closed");
}

}  // namespace datafix::workflow::testing
