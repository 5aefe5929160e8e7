// The whole runbook against real clusters with three identities: request, claim, pair, change,
// dev, test, product-owner approval, prod, revert of test — through the API and the CLI.
#include <gtest/gtest.h>

#include "runbook_steps.hpp"

namespace datafix::e2e {

TEST(Runbook, ThreePeopleTakeOneChangeFromDevToProdAndPutTestBack) {
    ServerFixture s;
    Team t = make_team(s);
    std::string before = s.psql("prod", "SELECT family_name FROM app_public.app_user WHERE id = 3");
    long long n = file_request(s, t);
    prepare(s, t, n);
    promote(s, t, n, "dev");
    EXPECT_EQ(s.psql("dev", "SELECT family_name FROM app_public.app_user WHERE id = 3"),
              "Renamed\n");
    EXPECT_EQ(s.psql("test", "SELECT family_name FROM app_public.app_user WHERE id = 3"), before);
    promote(s, t, n, "test");
    nlohmann::json st = state_of(s, t.po, n);
    ASSERT_EQ(
        s.post(t.po, req(n, "/approve-production"), {{"revision_hash", revision_hash(st)}}).status,
        200);
    promote(s, t, n, "prod");
    EXPECT_EQ(s.psql("prod", "SELECT family_name FROM app_public.app_user WHERE id = 3"),
              "Renamed\n");
    st = state_of(s, t.po, n);
    EXPECT_EQ(st["status"], "done");

    Answer revert = s.post(t.dana, env_path(n, "test", "revert"), {});
    ASSERT_EQ(revert.status, 200) << revert.body.dump();
    EXPECT_EQ(s.psql("test", "SELECT family_name FROM app_public.app_user WHERE id = 3"), before);
    EXPECT_EQ(s.psql("prod", "SELECT family_name FROM app_public.app_user WHERE id = 3"),
              "Renamed\n");

    // What people see through the CLI.
    auto show = s.cli(t.po, {"show", std::to_string(n)});
    EXPECT_EQ(show.status, 0) << show.err;
    EXPECT_NE(show.out.find("done"), std::string::npos);
    auto json = s.cli(t.po, {"show", std::to_string(n), "--output", "json"});
    EXPECT_EQ(nlohmann::json::parse(json.out)["runs"].size(), 7u);
    auto diff = s.cli(t.sam, {"show", std::to_string(n), "--run", "1", "--images"});
    EXPECT_EQ(diff.status, 0) << diff.err;
    EXPECT_NE(diff.out.find("+ family_name: Renamed"), std::string::npos) << diff.out;
    auto verify = s.cli(s.admin_token(), {"audit", "verify"});
    EXPECT_EQ(verify.status, 0) << verify.out << verify.err;
    EXPECT_NE(verify.out.find("intact"), std::string::npos);
}

TEST(Runbook, ThePairWatchesLive) {
    ServerFixture s;
    Team t = make_team(s);
    long long n = file_request(s, t);
    std::string events;
    std::thread watcher([&] {
        auto r =
            s.cli(t.sam, {"watch", std::to_string(n), "--max-events", "3", "--output", "json"});
        events = r.out;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    prepare(s, t, n);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    s.stop();  // ends every live stream, so the watcher returns even if an event went missing
    watcher.join();
    EXPECT_NE(events.find("\"step\":\"claim\""), std::string::npos) << events;
    EXPECT_NE(events.find("\"step\":\"pair\""), std::string::npos) << events;
}

TEST(Runbook, TheCliWalksTheStepsWithEachPersonsToken) {
    ServerFixture s;
    Team t = make_team(s);
    auto filed = s.cli(t.po, {"request", "--title", "cli request", "--reason", "asked by phone",
                              "--date", "2026-12-01"});
    ASSERT_EQ(filed.status, 0) << filed.err;
    ASSERT_EQ(s.cli(t.dana, {"claim", "1"}).status, 0);
    EXPECT_EQ(s.cli(t.sam, {"claim", "1"}).status, 10);  // rule
    ASSERT_EQ(s.cli(t.sam, {"pair", "1"}).status, 0);
    std::string change = s.dir() + "/change.sql";
    std::ofstream(change) << kChange;
    auto attached = s.cli(t.dana, {"change", "1", "--change", change, "--expect", "1"});
    ASSERT_EQ(attached.status, 0) << attached.err;
    auto preview = s.cli(t.dana, {"preview", "1", "dev"});
    ASSERT_EQ(preview.status, 0) << preview.err;
    EXPECT_NE(preview.out.find("rolled back"), std::string::npos);
    EXPECT_EQ(s.cli(t.dana, {"approve", "1", "dev"}).status, 10);  // self-approval
    ASSERT_EQ(s.cli(t.sam, {"approve", "1", "dev"}).status, 0);
    auto apply = s.cli(t.dana, {"apply", "1", "dev"});
    ASSERT_EQ(apply.status, 0) << apply.err;
    EXPECT_EQ(s.psql("dev", "SELECT family_name FROM app_public.app_user WHERE id = 3"),
              "Renamed\n");
    EXPECT_EQ(s.cli("", {"list"}).status, 11);
    EXPECT_EQ(s.cli(t.dana,
                    {"users", "add", "--name", "x", "--email", "x@example.com", "--role", "admin"})
                  .status,
              12);
}

}  // namespace datafix::e2e
