// Four eyes for accounts an admin created ([auth] confirm_accounts): until a second admin
// confirms one, its steps count for the admin who created it, so one admin with three accounts
// of their own making cannot drive, pair and approve alone. A provider's session is the person's
// own. Who may confirm: an admin who neither is nor counts for the creator.
#include <gtest/gtest.h>

#include "scenario.hpp"
#include "workflow/accounts.hpp"

namespace datafix::workflow::testing {
namespace {

// The scenario's people, all created by the admin (id 5) and not confirmed.
struct Created : Scenario {
    Created() {
        config.confirm_accounts = true;
        for (model::Person* p : {&driver, &pair, &po}) {
            p->created_by = admin.id;
        }
    }
};

TEST(Accounts, AnAdminsUnconfirmedAccountsCannotFillTwoSides) {
    Created s;
    s.ok(s.driver, ClaimRequest{});
    s.ok(s.pair, JoinPair{});
    s.ok(s.driver, Scenario::change());
    int run = *s.ok(s.driver, StartPreview{"dev"}).run;
    s.ok(s.driver, FinishRun{run, RunOutcome::succeeded, {1}, "fp-dev"});
    // The driver's steps counted for the admin who created the account.
    EXPECT_EQ(s.state.participants.drove, (std::vector<model::UserId>{2, 5}));
    Decision d =
        decide(s.state, ApproveEvidence{"dev", s.revision(), "fp-dev"}, s.pair, s.now, s.config);
    ASSERT_FALSE(d.allowed());
    EXPECT_EQ(d.refusal->rule, "four-eyes-account-creator");
    EXPECT_NE(d.refusal->message.find("created by admin 5"), std::string::npos)
        << d.refusal->message;
    EXPECT_NE(d.refusal->hint.find("datafix users confirm 3"), std::string::npos)
        << d.refusal->hint;
    // Nothing was recorded by the refusal.
    EXPECT_TRUE(s.state.participants.paired.empty());
}

TEST(Accounts, AConfirmedAccountCountsOnlyAsItself) {
    Created s;
    s.pair.confirmed_by = 6;
    s.ok(s.driver, ClaimRequest{});
    s.ok(s.pair, JoinPair{});
    s.ok(s.driver, Scenario::change());
    int run = *s.ok(s.driver, StartPreview{"dev"}).run;
    s.ok(s.driver, FinishRun{run, RunOutcome::succeeded, {1}, "fp-dev"});
    s.ok(s.pair, ApproveEvidence{"dev", s.revision(), "fp-dev"});
    EXPECT_EQ(s.state.participants.paired, (std::vector<model::UserId>{3}));
}

TEST(Accounts, AProvidersSessionIsThePersonsOwn) {
    Created s;
    model::Person signed_in = s.pair;
    signed_in.signed_in_with_provider = true;
    s.ok(s.driver, ClaimRequest{});
    s.ok(signed_in, JoinPair{});
    s.ok(s.driver, Scenario::change());
    int run = *s.ok(s.driver, StartPreview{"dev"}).run;
    s.ok(s.driver, FinishRun{run, RunOutcome::succeeded, {1}, "fp-dev"});
    s.refused(s.pair, ApproveEvidence{"dev", s.revision(), "fp-dev"}, "four-eyes-account-creator");
    s.ok(signed_in, ApproveEvidence{"dev", s.revision(), "fp-dev"});
}

TEST(Accounts, WithoutConfirmationAccountsCountAsThemselves) {
    Created s;
    s.config.confirm_accounts = false;
    s.ok(s.driver, ClaimRequest{});
    s.ok(s.pair, JoinPair{});
    s.ok(s.driver, Scenario::change());
    int run = *s.ok(s.driver, StartPreview{"dev"}).run;
    s.ok(s.driver, FinishRun{run, RunOutcome::succeeded, {1}, "fp-dev"});
    EXPECT_EQ(s.state.participants.drove, (std::vector<model::UserId>{2}));
    s.ok(s.pair, ApproveEvidence{"dev", s.revision(), "fp-dev"});
}

TEST(Accounts, AProductOwnersUnconfirmedAccountCountsForItsCreator) {
    Created s;
    s.pair.confirmed_by = 6;
    s.claim_and_pair();
    s.ok(s.driver, Scenario::change());
    s.promote("dev");
    s.promote("test");
    // The driver's account and the product owner's were both made by admin 5.
    s.refused(s.po, ApproveProduction{s.revision()}, "four-eyes-account-creator");
    model::Person confirmed_po = s.po;
    confirmed_po.confirmed_by = 6;
    s.ok(confirmed_po, ApproveProduction{s.revision()});
    EXPECT_EQ(s.state.participants.product_owners, (std::vector<model::UserId>{1}));
}

model::Person admin(model::UserId id) {
    model::Person p;
    p.id = id;
    p.name = "admin " + std::to_string(id);
    p.role = model::Role::admin;
    return p;
}

TEST(Accounts, WhoMayConfirmAnAccount) {
    WorkflowConfig config = WorkflowConfig::standard();
    config.confirm_accounts = true;
    const model::Person creator = admin(5);
    model::Person account;
    account.id = 3;
    account.created_by = 5;

    auto rule = [&](const model::Person& who, const model::Person& acc) {
        auto r = check_account_confirmation(who, acc, creator, config);
        return r ? r->rule : std::string("allowed");
    };
    // The creator cannot vouch for their own creation.
    EXPECT_EQ(rule(creator, account), "account-confirm-by-creator");
    // Nor can an admin whose token the creator issued,
    model::Person issued = admin(6);
    issued.token_issued_by = 5;
    EXPECT_EQ(rule(issued, account), "account-confirm-by-creator");
    // or whose own account the creator made and nobody confirmed,
    model::Person made = admin(7);
    made.created_by = 5;
    EXPECT_EQ(rule(made, account), "account-confirm-by-creator");
    // unless that admin signs in through the provider, as themselves.
    made.signed_in_with_provider = true;
    EXPECT_EQ(rule(made, account), "allowed");
    // An independent admin may.
    EXPECT_EQ(rule(admin(8), account), "allowed");
    // Nobody confirms their own account.
    model::Person self = admin(3);
    self.created_by = 5;
    EXPECT_EQ(rule(self, self), "account-confirm-own");
    // Nothing to confirm: made by datafix init or a sign-in, or confirmed already.
    model::Person unattributed;
    unattributed.id = 4;
    EXPECT_EQ(rule(admin(8), unattributed), "account-not-created-by-admin");
    model::Person confirmed = account;
    confirmed.confirmed_by = 8;
    EXPECT_EQ(rule(admin(9), confirmed), "account-confirmed-already");
    // With confirmation off, there is nothing to do.
    config.confirm_accounts = false;
    EXPECT_EQ(rule(admin(8), account), "accounts-not-confirmed");
}

}  // namespace
}  // namespace datafix::workflow::testing
