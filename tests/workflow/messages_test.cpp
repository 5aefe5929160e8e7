// What a refused person reads: every HINT that names a command gives the request's number and
// the environment, the verb the command line has, and no API field names; dates are ISO 8601;
// the 12-character hash prefix every view shows names a revision.
#include "scenario.hpp"

namespace datafix::workflow::testing {

namespace {

Refusal refusal_of(Scenario& s, const model::Person& who, const Action& action) {
    const model::RequestState before = s.state;
    Decision d = decide(s.state, action, who, s.now, s.config);
    EXPECT_FALSE(d.allowed()) << action_name(action) << " was allowed";
    EXPECT_TRUE(d.state == before);
    return d.refusal.value_or(Refusal{});
}

NewRequest new_request(const std::string& date) {
    return NewRequest{"fix a name", "asked by email", 0, date, ""};
}

}  // namespace

TEST(Messages, HintsGiveTheRequestNumberAndEnvironment) {
    Scenario s;
    s.claim_and_pair();
    s.ok(s.driver, Scenario::change());
    Refusal r = refusal_of(s, s.driver, StartApply{"dev", "evidence-dev-1"});
    EXPECT_EQ(r.rule, "evidence-required");
    EXPECT_EQ(r.hint, "preview first (datafix preview 7 dev)");

    const std::string fp = s.preview("dev");
    r = refusal_of(s, s.driver, StartApply{"dev", fp});
    EXPECT_EQ(r.rule, "evidence-not-approved");
    EXPECT_EQ(r.hint, "ask the pair to approve it (datafix approve 7 dev)");

    r = refusal_of(s, s.driver, ApproveEvidence{"dev", s.revision(), fp});
    EXPECT_EQ(r.rule, "no-self-approval");
    EXPECT_EQ(r.hint, "the pair approves (datafix approve 7 dev, as the pair)");

    r = refusal_of(s, s.other_dev, StartPreview{"dev"});
    EXPECT_EQ(r.rule, "driver-only");
    EXPECT_EQ(r.hint, "claim the request first (datafix claim 7), or ask its driver");
}

TEST(Messages, AProductOwnerIsNotToldToPair) {
    Scenario s;
    s.claim_and_pair();
    s.ok(s.driver, Scenario::change());
    const std::string fp = s.preview("dev");
    Refusal r = refusal_of(s, s.po, ApproveEvidence{"dev", s.revision(), fp});
    EXPECT_EQ(r.rule, "pair-approves");
    EXPECT_EQ(r.hint, "as the product owner, approve production instead (datafix approve-prod 7)");
    r = refusal_of(s, s.other_dev, ApproveEvidence{"dev", s.revision(), fp});
    EXPECT_EQ(r.hint, "join as the pair first (datafix pair 7)");
}

TEST(Messages, SeatsTakenNameVerbsThatExist) {
    Scenario s;
    s.claim_and_pair();
    Refusal r = refusal_of(s, s.other_dev, ClaimRequest{});
    EXPECT_EQ(r.rule, "claim-taken");
    EXPECT_EQ(r.message, "the request is already claimed by another developer");
    EXPECT_EQ(r.hint,
              "ask the driver to hand it over (datafix handover 7 --to omar.dev@example.com), or "
              "wait until the lease ends");
    r = refusal_of(s, s.other_dev, JoinPair{});
    EXPECT_EQ(r.rule, "pair-taken");
    EXPECT_EQ(r.hint, "the current pair must leave first (datafix pair 7 --leave)");
    r = refusal_of(s, s.pair, ClaimRequest{});
    EXPECT_EQ(r.hint, "leave the pair first (datafix pair 7 --leave) if you want to drive");
}

TEST(Messages, UnknownEnvironmentListsTheConfiguredOnes) {
    Scenario s;
    s.claim_and_pair();
    s.ok(s.driver, Scenario::change());
    for (const Action& action : std::vector<Action>{StartPreview{"prdo"}, StartApply{"prdo", "x"},
                                                    ApproveEvidence{"prdo", s.revision(), "x"}}) {
        Refusal r = refusal_of(s, action_name(action) == "approve" ? s.pair : s.driver, action);
        EXPECT_EQ(r.rule, "environment-unknown") << action_name(action);
        EXPECT_EQ(r.code, ErrorCode::not_found);
        EXPECT_EQ(r.message, "no environment named 'prdo'");
        EXPECT_EQ(r.hint, "use one of the configured environments: dev, test, prod");
    }
}

TEST(Messages, RequestedDateIsIso8601) {
    Scenario s;
    for (const char* bad : {"15/12/2026", "2026-12-1", "2026-13-01", "2026-02-30", "2026-1a-01",
                            "2026-12-15T10:00", "tomorrow"}) {
        auto r = check_new_request(new_request(bad), s.po, nullptr);
        ASSERT_TRUE(r.has_value()) << bad;
        EXPECT_EQ(r->rule, "requested-date");
        EXPECT_EQ(r->code, ErrorCode::invalid_input);
        EXPECT_EQ(r->message,
                  std::string("the requested date '") + bad + "' is not a date written YYYY-MM-DD");
        EXPECT_EQ(r->hint, "give it as year-month-day, e.g. --date 2026-12-15");
    }
    for (const char* good : {"", "2026-12-15", "2028-02-29"}) {
        EXPECT_FALSE(check_new_request(new_request(good), s.po, nullptr).has_value()) << good;
    }
}

TEST(Messages, NoApiFieldNamesInTheRequesterRefusal) {
    Scenario s;
    auto r = check_new_request(new_request(""), s.driver, nullptr);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->rule, "requester-is-product-owner");
    EXPECT_EQ(r->hint, "name them with --for (a product owner's email)");
}

TEST(Messages, ShownHashPrefixNamesTheRevision) {
    Scenario s;
    s.claim_and_pair();
    s.ok(s.driver, Scenario::change());
    s.promote("dev");
    s.promote("test");
    const std::string shown = s.revision().substr(0, 12);
    Refusal r = refusal_of(s, s.po, ApproveProduction{shown.substr(0, 11)});
    EXPECT_EQ(r.rule, "revision-prefix-short");
    EXPECT_EQ(r.code, ErrorCode::invalid_input);
    EXPECT_EQ(r.message,
              "the revision hash '" + shown.substr(0, 11) + "' is shorter than 12 characters");
    EXPECT_EQ(r.hint, "give at least the 12 characters shown; the current revision 1 is " + shown);
    s.ok(s.po, ApproveProduction{shown});
    EXPECT_EQ(s.state.approvals.back().revision_hash, s.revision());
}

TEST(Messages, AmbiguousHashPrefixRefused) {
    Scenario s;
    s.claim_and_pair();
    s.ok(s.driver, Scenario::change());
    s.ok(s.driver, Scenario::change("UPDATE app_public.intake SET name = 'x' WHERE id = 4"));
    ASSERT_EQ(s.state.revisions.size(), 2u);
    // Two revisions whose hashes share their first 13 characters (fabricated: SHA-256 makes
    // this rare, not impossible).
    s.state.revisions[0].hash = std::string(13, 'a') + std::string(51, '1');
    s.state.revisions[1].hash = std::string(13, 'a') + std::string(51, '2');
    const std::string fp = s.preview("dev");
    Refusal r = refusal_of(s, s.pair, ApproveEvidence{"dev", std::string(13, 'a'), fp});
    EXPECT_EQ(r.rule, "revision-prefix-ambiguous");
    EXPECT_EQ(r.message, "the revision hash '" + std::string(13, 'a') +
                             "' is the start of 2 revisions of this request");
    r = refusal_of(s, s.pair, ApproveEvidence{"dev", s.state.revisions[0].hash.substr(0, 14), fp});
    EXPECT_EQ(r.rule, "approval-of-current-revision");
    s.ok(s.pair, ApproveEvidence{"dev", s.state.revisions[1].hash.substr(0, 14), fp});
}

}  // namespace datafix::workflow::testing
