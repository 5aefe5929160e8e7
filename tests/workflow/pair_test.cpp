// The pair: a second developer, never the driver, never the requesting product owner.
#include "scenario.hpp"

namespace datafix::workflow::testing {

TEST(Pair, SecondDeveloperJoins) {
    Scenario s;
    s.ok(s.driver, ClaimRequest{});
    Decision d = s.ok(s.pair, JoinPair{});
    EXPECT_EQ(s.state.pair->pair, s.pair.id);
    EXPECT_EQ(d.events.at(0).action, "pair.joined");
}

TEST(Pair, DriverCannotPair) {
    Scenario s;
    s.ok(s.driver, ClaimRequest{});
    s.refused(s.driver, JoinPair{}, "pair-is-not-driver");
}

TEST(Pair, RequestingProductOwnerCannotPair) {
    Scenario s;
    s.refused(s.po, JoinPair{}, "pair-is-not-requester");
    s.refused(s.other_po, JoinPair{}, "developer-only");
    s.refused(s.admin, JoinPair{}, "developer-only");
}

TEST(Pair, OnlyOnePair) {
    Scenario s;
    s.ok(s.pair, JoinPair{});
    s.refused(s.pair, JoinPair{}, "already-pair");
    s.refused(s.other_dev, JoinPair{}, "pair-taken");
}

TEST(Pair, LeavingVoidsTheirApprovals) {
    Scenario s;
    s.claim_and_pair();
    s.ok(s.driver, Scenario::change());
    std::string fp = s.preview("dev");
    s.ok(s.pair, ApproveEvidence{"dev", s.revision(), fp});
    s.refused(s.other_dev, LeavePair{}, "pair-only");
    s.ok(s.pair, LeavePair{});
    EXPECT_FALSE(s.state.pair.has_value());
    s.refused(s.driver, StartApply{"dev", fp}, "evidence-not-approved");
    s.ok(s.other_dev, JoinPair{});
    s.ok(s.other_dev, ApproveEvidence{"dev", s.revision(), fp});
    s.ok(s.driver, StartApply{"dev", fp});
}

TEST(Pair, CannotJoinCancelledRequest) {
    Scenario s;
    s.ok(s.po, CancelRequest{});
    s.refused(s.pair, JoinPair{}, "request-cancelled");
}

}  // namespace datafix::workflow::testing
