// The configurable backup step before prod (off by default), filing requests, managing people,
// and the progress view.
#include "scenario.hpp"
#include "workflow/progress.hpp"

namespace datafix::workflow::testing {

class Backups : public ::testing::Test {
  protected:
    void SetUp() override {
        s.config.environments.back().needs_backup = true;
        s.claim_and_pair();
        s.ok(s.driver, Scenario::change());
        s.promote("dev");
        s.promote("test");
        s.ok(s.po, ApproveProduction{s.revision()});
        fp = s.preview("prod");
        s.ok(s.pair, ApproveEvidence{"prod", s.revision(), fp});
    }
    RecordBackup backup(bool verified = true) {
        return RecordBackup{"prod",
                            verified,
                            s.now,
                            4096,
                            std::string(64, 'e'),
                            "/var/backups/datafix/7-prod.dump"};
    }
    Scenario s;
    std::string fp;
};

TEST_F(Backups, ProdApplyNeedsVerifiedBackup) {
    s.refused(s.driver, StartApply{"prod", fp}, "backup-required");
    s.ok(s.driver, backup(false));
    s.refused(s.driver, StartApply{"prod", fp}, "backup-required");
    Decision d = s.ok(s.driver, backup());
    EXPECT_EQ(d.events.at(0).action, "backup.recorded");
    s.ok(s.driver, StartApply{"prod", fp});
}

TEST_F(Backups, BackupTooOldRefused) {
    s.ok(s.driver, backup());
    s.advance(61min);
    s.ok(s.driver, ClaimRequest{});  // renew the lease: only the backup's age matters here
    s.refused(s.driver, StartApply{"prod", fp}, "backup-required");
}

TEST_F(Backups, BackupBeforeTestApplyDoesNotCount) {
    RecordBackup early = backup();
    early.taken_at = s.now - 1h;
    s.ok(s.driver, early);
    s.refused(s.driver, StartApply{"prod", fp}, "backup-required");
}

TEST(BackupDefault, OffByDefault) {
    Scenario s;
    EXPECT_FALSE(s.config.find("prod")->needs_backup);
    s.run_to_done();
    EXPECT_EQ(s.state.request.status, model::RequestStatus::done);
}

TEST(NewRequestRules, WhoMayFile) {
    Scenario s;
    NewRequest r{"fix a name", "asked by email", 0, "2024-05-01", "https://tickets.example.com/1"};
    EXPECT_FALSE(check_new_request(r, s.po, &s.po).has_value());
    // A developer files it on behalf of a product owner.
    r.requested_by = s.po.id;
    EXPECT_FALSE(check_new_request(r, s.driver, &s.po).has_value());
    EXPECT_EQ(check_new_request(r, s.driver, &s.other_dev)->rule, "requester-is-product-owner");
    EXPECT_EQ(check_new_request(r, s.driver, nullptr)->rule, "requester-is-product-owner");
    EXPECT_EQ(check_new_request(r, s.other_po, &s.po)->rule, "requester-is-self");
    r.requested_by = 0;
    EXPECT_EQ(check_new_request(r, s.driver, nullptr)->rule, "requester-is-product-owner");
    r.title.clear();
    EXPECT_EQ(check_new_request(r, s.po, &s.po)->rule, "request-fields");
}

TEST(ManageUsers, AdminsOnly) {
    Scenario s;
    EXPECT_FALSE(check_manage_users(s.admin).has_value());
    EXPECT_EQ(check_manage_users(s.driver)->rule, "admin-only");
    EXPECT_EQ(check_manage_users(s.po)->code, ErrorCode::forbidden);
}

TEST(ProgressView, FollowsTheRules) {
    Scenario s;
    s.claim_and_pair();
    s.ok(s.driver, Scenario::change());
    Progress p = summarize(s.state, s.config, s.now);
    ASSERT_EQ(p.environments.size(), 3u);
    EXPECT_EQ(p.environments[0].stage, Stage::ready);
    EXPECT_EQ(p.environments[1].stage, Stage::waiting);
    std::string fp = s.preview("dev");
    p = summarize(s.state, s.config, s.now);
    EXPECT_EQ(p.environments[0].stage, Stage::previewed);
    EXPECT_EQ(p.environments[0].fingerprint, fp);
    s.ok(s.pair, ApproveEvidence{"dev", s.revision(), fp});
    EXPECT_EQ(summarize(s.state, s.config, s.now).environments[0].stage, Stage::approved);
    int run = *s.ok(s.driver, StartApply{"dev", fp}).run;
    EXPECT_EQ(summarize(s.state, s.config, s.now).environments[0].stage, Stage::running);
    s.ok(s.driver, FinishRun{run, RunOutcome::in_doubt});
    EXPECT_EQ(summarize(s.state, s.config, s.now).environments[0].stage, Stage::in_doubt);
    s.ok(s.driver, ResolveInDoubt{run, true});
    p = summarize(s.state, s.config, s.now);
    EXPECT_EQ(p.environments[0].stage, Stage::applied);
    EXPECT_EQ(p.environments[1].stage, Stage::ready);
    EXPECT_EQ(stage_name(p.environments[2].stage), "waiting");
    EXPECT_TRUE(p.lease_active);
    EXPECT_FALSE(p.product_owner_approved);
}

TEST(ActionNames, Stable) {
    EXPECT_EQ(action_name(ClaimRequest{}), "claim");
    EXPECT_EQ(action_name(ApproveEvidence{}), "approve");
    EXPECT_EQ(action_name(CancelRequest{}), "cancel");
}

}  // namespace datafix::workflow::testing
