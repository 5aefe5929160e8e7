// A new revision after dev and test were applied, through the real server and clusters: the
// attach is refused until the driver confirms the reverts first; `datafix change --revert-first`
// then reverts test and dev (each after the pair's approval, which it waits for), and revision 2
// walks dev, test and prod to done — no cancel, no dead end. Also what the driver and pair are
// told on the way: what the new revision voided, which environments still hold the change, the
// next step and its owner in `show` and `inbox`.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "runbook_steps.hpp"

namespace datafix::e2e {

namespace {

const char* kSecond =
    "UPDATE app_public.app_user SET family_name = 'Renamed twice' WHERE id = 3;\n";
const char* kFamilyName = "SELECT family_name FROM app_public.app_user WHERE id = 3";

template <class Check>
bool eventually(Check done) {
    for (int i = 0; i < 600; ++i) {
        if (done()) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return done();
}

std::string next_step(ServerFixture& s, const std::string& token, long long n) {
    return state_of(s, token, n)["next"]["what"].get<std::string>();
}

}  // namespace

TEST(RevisionAfterApply, RevertsDevAndTestFirstThenWalksRevisionTwoToDone) {
    ServerFixture s;
    Team t = make_team(s);
    long long n = file_request(s, t);
    const std::string number = std::to_string(n);
    const std::string original = s.psql("dev", kFamilyName);
    ASSERT_EQ(original, s.psql("test", kFamilyName));
    prepare(s, t, n);
    promote(s, t, n, "dev");
    promote(s, t, n, "test");
    ASSERT_EQ(s.psql("test", kFamilyName), "Renamed\n");
    const std::string first = revision_hash(state_of(s, t.dana, n));

    // Without confirmation: refused, the way out named, nothing changed.
    std::string second = s.dir() + "/second.sql";
    std::ofstream(second) << kSecond;
    const auto version = state_of(s, t.dana, n)["version"];
    auto refused = s.cli(t.dana, {"change", number, "--change", second, "--expect", "1"});
    EXPECT_EQ(refused.status, 10) << refused.out << refused.err;
    EXPECT_NE(
        refused.err.find("the data in dev and test still holds the current revision's change"),
        std::string::npos)
        << refused.err;
    EXPECT_NE(refused.err.find("datafix change " + number +
                               " --change FILE --expect ROWS --revert-first"),
              std::string::npos)
        << refused.err;
    EXPECT_EQ(state_of(s, t.dana, n)["version"], version);
    EXPECT_EQ(s.post(t.dana, env_path(n, "test", "revert"), {}).status, 409);

    // Confirmed: attached, and the command reverts test, then dev, as the pair approves each.
    testing::ProcessResult attached;
    std::thread driver([&] {
        attached = s.cli(t.dana,
                         {"change", number, "--change", second, "--expect", "1", "--revert-first"});
    });
    const auto waits_for_pair = [&](const std::string& env) {
        nlohmann::json st = state_of(s, t.sam, n);
        return st["next"]["step"] == "approve-revert" && st["next"]["environment"] == env &&
               st["next"]["person"]["email"] == "sam@example.com";
    };
    EXPECT_TRUE(eventually([&] { return waits_for_pair("test"); })) << next_step(s, t.sam, n);
    // The inbox tells the pair; the new revision cannot run before the data is put back.
    auto inbox = s.cli(t.sam, {"inbox"});
    EXPECT_EQ(inbox.status, 0) << inbox.err;
    EXPECT_NE(inbox.out.find("approve the revert of test (test still holds revision 1"),
              std::string::npos)
        << inbox.out;
    EXPECT_EQ(s.post(t.dana, env_path(n, "dev", "preview"), {}).body["rule"], "revert-first");
    // Four eyes: the driver cannot approve the revert.
    EXPECT_EQ(s.post(t.dana, env_path(n, "test", "approve-revert"), {{"revision_hash", first}})
                  .body["rule"],
              "no-self-approval");
    ASSERT_EQ(
        s.post(t.sam, env_path(n, "test", "approve-revert"), {{"revision_hash", first}}).status,
        200);
    EXPECT_TRUE(eventually([&] { return waits_for_pair("dev"); })) << next_step(s, t.sam, n);
    EXPECT_EQ(s.psql("test", kFamilyName), original);
    ASSERT_EQ(
        s.post(t.sam, env_path(n, "dev", "approve-revert"), {{"revision_hash", first}}).status,
        200);
    driver.join();
    ASSERT_EQ(attached.status, 0) << attached.out << attached.err;
    EXPECT_NE(attached.out.find("revision 2 attached"), std::string::npos) << attached.out;
    EXPECT_NE(attached.out.find("voided 2 approvals"), std::string::npos) << attached.out;
    EXPECT_NE(attached.out.find("data still changed in dev (revision 1), test (revision 1)"),
              std::string::npos)
        << attached.out;
    EXPECT_NE(attached.out.find("waiting: approve the revert of test"), std::string::npos)
        << attached.out;
    EXPECT_NE(attached.out.find("reverted test"), std::string::npos) << attached.out;
    EXPECT_NE(attached.out.find("reverted dev"), std::string::npos) << attached.out;
    EXPECT_NE(attached.out.find("next, preview revision 2 in dev"), std::string::npos)
        << attached.out;
    EXPECT_EQ(s.psql("dev", kFamilyName), original);
    EXPECT_EQ(s.psql("test", kFamilyName), original);
    nlohmann::json st = state_of(s, t.dana, n);
    EXPECT_TRUE(st["progress"]["held"].empty()) << st["progress"].dump();

    // Revision 2 from dev to prod: its preview now matches the row.
    promote(s, t, n, "dev");
    EXPECT_EQ(s.psql("dev", kFamilyName), "Renamed twice\n");
    promote(s, t, n, "test");
    st = state_of(s, t.po, n);
    EXPECT_EQ(st["next"]["step"], "approve-prod");
    EXPECT_EQ(st["next"]["person"]["email"], "priya@example.com");
    ASSERT_EQ(
        s.post(t.po, req(n, "/approve-production"), {{"revision_hash", revision_hash(st)}}).status,
        200);
    promote(s, t, n, "prod");
    st = state_of(s, t.po, n);
    EXPECT_EQ(st["status"], "done");
    EXPECT_EQ(s.psql("prod", kFamilyName), "Renamed twice\n");
    int reverts = 0;
    for (const auto& run : st["runs"]) {
        reverts += run["kind"] == "revert" && run["state"] == "succeeded" ? 1 : 0;
    }
    EXPECT_EQ(reverts, 2);
}

TEST(RevisionAfterApply, CancelSaysWhatItVoidsAndWhereTheDataIsStillChanged) {
    ServerFixture s;
    Team t = make_team(s);
    long long n = file_request(s, t);
    const std::string number = std::to_string(n);
    prepare(s, t, n);
    promote(s, t, n, "dev");
    auto cancelled = s.cli(t.po, {"cancel", number, "--reason", "no longer needed"});
    ASSERT_EQ(cancelled.status, 0) << cancelled.err;
    EXPECT_NE(cancelled.out.find("voided 1 approval"), std::string::npos) << cancelled.out;
    EXPECT_NE(cancelled.out.find("data still changed in dev (revision 1)"), std::string::npos)
        << cancelled.out;
    // A cancelled request is claimed by nobody; its driver puts dev back.
    std::string omar = s.add_person("Omar Other", "omar@example.com", "developer");
    auto claim = s.post(omar, req(n, "/claim"), {});
    EXPECT_EQ(claim.status, 409) << claim.body.dump();
    EXPECT_EQ(claim.body["rule"], "request-closed");
    nlohmann::json st = state_of(s, t.dana, n);
    EXPECT_EQ(st["next"]["step"], "revert");
    EXPECT_EQ(st["next"]["person"]["email"], "dana@example.com");
    // The put-back is the driver's to-do, listed quietly apart from what waits on them.
    auto inbox = s.cli(t.dana, {"inbox"});
    EXPECT_NE(inbox.out.find("Waiting on you (0)"), std::string::npos) << inbox.out;
    EXPECT_NE(inbox.out.find("To tidy up (1)"), std::string::npos) << inbox.out;
    EXPECT_NE(inbox.out.find("#" + number +
                             " Correct an applicant's family name (cancelled): "
                             "put the data in dev back: revert dev"),
              std::string::npos)
        << inbox.out;
    nlohmann::json view = s.get(t.dana, "/api/inbox").body;
    EXPECT_TRUE(view["waiting_on_you"].empty()) << view.dump();
    EXPECT_TRUE(view["yours"].empty()) << view.dump();
    ASSERT_EQ(view["to_tidy_up"].size(), 1u) << view.dump();
    EXPECT_EQ(view["to_tidy_up"][0]["next"]["step"], "revert");
    // Nobody else is asked to tidy up.
    EXPECT_TRUE(s.get(t.po, "/api/inbox").body["to_tidy_up"].empty());
    ASSERT_EQ(s.post(t.dana, env_path(n, "dev", "revert"), {}).status, 200);
    EXPECT_TRUE(state_of(s, t.dana, n)["progress"]["held"].empty());
    auto tidied = s.cli(t.dana, {"inbox"});
    EXPECT_EQ(tidied.out.find("To tidy up"), std::string::npos) << tidied.out;
    EXPECT_TRUE(s.get(t.dana, "/api/inbox").body["to_tidy_up"].empty());
}

}  // namespace datafix::e2e
