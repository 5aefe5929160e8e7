// The exclusive claim: one driver, a lease, release and hand-over.
#include "scenario.hpp"

namespace datafix::workflow::testing {

TEST(Claim, DeveloperBecomesDriverWithLease) {
    Scenario s;
    Decision d = s.ok(s.driver, ClaimRequest{});
    ASSERT_TRUE(s.state.claim.has_value());
    EXPECT_EQ(s.state.claim->driver, s.driver.id);
    EXPECT_EQ(s.state.claim->lease_expires_at, s.now + s.config.lease);
    ASSERT_EQ(d.events.size(), 1u);
    EXPECT_EQ(d.events[0].action, "claim.taken");
    EXPECT_EQ(d.events[0].actor, s.driver.id);
    EXPECT_EQ(d.events[0].request, 7);
}

TEST(Claim, SecondClaimRefused) {
    Scenario s;
    s.ok(s.driver, ClaimRequest{});
    s.refused(s.other_dev, ClaimRequest{}, "claim-taken");
}

TEST(Claim, ProductOwnerAndAdminMayNotClaim) {
    Scenario s;
    s.refused(s.po, ClaimRequest{}, "developer-only");
    s.refused(s.admin, ClaimRequest{}, "developer-only");
    Decision d = decide(s.state, ClaimRequest{}, s.po, s.now, s.config);
    EXPECT_EQ(d.refusal->code, ErrorCode::forbidden);
}

TEST(Claim, PairMayNotClaim) {
    Scenario s;
    s.ok(s.pair, JoinPair{});
    s.refused(s.pair, ClaimRequest{}, "driver-is-not-pair");
}

TEST(Claim, DriverRenewsLease) {
    Scenario s;
    s.ok(s.driver, ClaimRequest{});
    s.advance(10min);
    Decision d = s.ok(s.driver, ClaimRequest{});
    EXPECT_EQ(d.events.at(0).action, "claim.renewed");
    EXPECT_EQ(s.state.claim->lease_expires_at, s.now + s.config.lease);
}

TEST(Claim, DriverActionsRenewLease) {
    Scenario s;
    s.ok(s.driver, ClaimRequest{});
    s.advance(20min);
    s.ok(s.driver, Scenario::change());
    s.advance(20min);  // 40 minutes after the claim, 20 after the last action: still held
    s.refused(s.other_dev, ClaimRequest{}, "claim-taken");
}

TEST(Claim, ExpiredLeaseLetsAnotherDeveloperClaim) {
    Scenario s;
    s.ok(s.driver, ClaimRequest{});
    s.advance(31min);
    Decision d = s.ok(s.other_dev, ClaimRequest{});
    EXPECT_EQ(s.state.claim->driver, s.other_dev.id);
    EXPECT_NE(d.events.at(0).detail.find("previous_driver=2"), std::string::npos);
}

TEST(Claim, ApplyAfterLeaseEndedRefused) {
    Scenario s;
    s.claim_and_pair();
    s.ok(s.driver, Scenario::change());
    std::string fp = s.preview("dev");
    s.ok(s.pair, ApproveEvidence{"dev", s.revision(), fp});
    s.advance(31min);
    s.refused(s.driver, StartApply{"dev", fp}, "lease-expired");
    s.refused(s.driver, StartPreview{"dev"}, "lease-expired");
    s.refused(s.driver, Scenario::change("DELETE FROM x WHERE id = 1"), "lease-expired");
    // Claiming again renews it.
    s.ok(s.driver, ClaimRequest{});
    s.ok(s.driver, StartApply{"dev", fp});
}

TEST(Claim, AClosedRequestIsClaimedByNobody) {
    Scenario s;
    s.claim_and_pair();
    s.ok(s.po, CancelRequest{"no longer needed"});
    s.advance(31min);
    // Its lease lapsed: a newcomer would read its images, and only open requests are claimed.
    Decision d = decide(s.state, ClaimRequest{}, s.other_dev, s.now, s.config);
    ASSERT_FALSE(d.allowed());
    EXPECT_EQ(d.refusal->rule, "request-closed");
    EXPECT_NE(d.refusal->message.find("cancelled"), std::string::npos);
    s.refused(s.driver, ClaimRequest{}, "request-closed");
}

TEST(Claim, ReleaseByDriverOrAdmin) {
    Scenario s;
    s.ok(s.driver, ClaimRequest{});
    s.refused(s.other_dev, ReleaseClaim{}, "driver-only");
    s.ok(s.driver, ReleaseClaim{});
    EXPECT_FALSE(s.state.claim.has_value());
    s.refused(s.driver, ReleaseClaim{}, "not-claimed");
    s.ok(s.other_dev, ClaimRequest{});
    s.ok(s.admin, ReleaseClaim{});
}

TEST(Claim, ReleaseRefusedWhileRunning) {
    Scenario s;
    s.ok(s.driver, ClaimRequest{});
    s.ok(s.driver, Scenario::change());
    s.ok(s.driver, StartPreview{"dev"});
    s.refused(s.driver, ReleaseClaim{}, "run-in-progress");
}

TEST(Claim, HandOverToAnotherDeveloper) {
    Scenario s;
    s.claim_and_pair();
    s.refused(s.driver, HandOver{s.pair}, "driver-is-not-pair");
    s.refused(s.driver, HandOver{s.po}, "hand-over-to-developer");
    s.refused(s.driver, HandOver{s.driver}, "hand-over-to-self");
    model::Person inactive = s.other_dev;
    inactive.active = false;
    s.refused(s.driver, HandOver{inactive}, "hand-over-to-developer");
    s.refused(s.other_dev, HandOver{s.other_dev}, "driver-only");
    Decision d = s.ok(s.driver, HandOver{s.other_dev});
    EXPECT_EQ(s.state.claim->driver, s.other_dev.id);
    EXPECT_EQ(d.events.at(0).action, "claim.handed_over");
    // The previous driver no longer drives.
    s.refused(s.driver, Scenario::change(), "driver-only");
}

TEST(Claim, HandOverByNonDriverRefused) {
    Scenario s;
    s.ok(s.driver, ClaimRequest{});
    model::Person third = person(9, "tara.dev", model::Role::developer);
    s.refused(s.other_dev, HandOver{third}, "driver-only");
    s.advance(31min);
    s.refused(s.driver, HandOver{third}, "lease-expired");
}

TEST(Claim, InactivePersonRefused) {
    Scenario s;
    model::Person gone = s.driver;
    gone.active = false;
    s.refused(gone, ClaimRequest{}, "person-inactive");
}

}  // namespace datafix::workflow::testing
