// Per-person session settings: with [environment.person_settings] the application's own audit
// columns name the driver (jwt.claims.sub = the driver's id in the application), and a driver the
// environment does not map is refused before anything is recorded or run.
#include <gtest/gtest.h>

#include "runbook_steps.hpp"

namespace datafix::e2e {
namespace {

// app_user 5's sub stands for Dana in the application.
ServerOptions mapped_dev() {
    ServerOptions o;
    o.environment_extra["dev"] =
        "[environment.person_settings]\n"
        "\"dana@example.com\" = { \"jwt.claims.sub\" = \"" +
        testing::SampleClusters::get()
            .dev()
            .psql("SELECT sub FROM app_public.app_user WHERE id = 5")
            .substr(0, 36) +
        "\" }\n";
    return o;
}

TEST(Identity, TheApplicationsAuditNamesTheDriver) {
    ServerFixture s{mapped_dev()};
    Team t = make_team(s);
    long long n = file_request(s, t);
    prepare(s, t, n);
    promote(s, t, n, "dev");
    EXPECT_EQ(s.psql("dev", "SELECT updated_by FROM app_public.app_user WHERE id = 3"), "5\n")
        << "the timestamp trigger read the driver's jwt.claims.sub";
}

TEST(Identity, AnUnmappedDriverIsRefusedAndNothingIsRecorded) {
    ServerFixture s{mapped_dev()};
    Team t = make_team(s);
    long long n = file_request(s, t);
    // Sam drives this time; dev maps only Dana.
    ASSERT_EQ(s.post(t.sam, req(n, "/claim"), {}).status, 200);
    ASSERT_EQ(s.post(t.dana, req(n, "/pair"), {}).status, 200);
    ASSERT_EQ(s.post(t.sam, req(n, "/revisions"),
                     {{"change_sql", kChange}, {"verify_sql", kVerify}, {"expected", {1}}})
                  .status,
              200);
    nlohmann::json before = state_of(s, t.po, n);
    Answer p = s.post(t.sam, env_path(n, "dev", "preview"), {});
    EXPECT_EQ(p.status, 409) << p.body.dump();
    EXPECT_NE(p.body.value("message", "").find("no entry for sam@example.com"), std::string::npos)
        << p.body.dump();
    EXPECT_NE(p.body.value("hint", "").find("[environment.person_settings]"), std::string::npos);
    nlohmann::json after = state_of(s, t.po, n);
    EXPECT_EQ(after["runs"], before["runs"]) << "no run was started";
}

}  // namespace
}  // namespace datafix::e2e
