// What people read when the command line, through the real server, refuses them: the exact text
// and exit status, commands they can copy (request number, environment names, verbs that
// exist), and nothing changed by the bad input.
#include <gtest/gtest.h>

#include "runbook_steps.hpp"

namespace datafix::e2e {

namespace {

class Messages : public ::testing::Test {
  protected:
    ServerFixture s;
    Team t = make_team(s);

    std::int64_t version(long long n) { return state_of(s, t.po, n)["version"]; }
    std::string requests() { return s.cli(t.po, {"list", "--output", "json"}).out; }
};

}  // namespace

TEST_F(Messages, ATakenClaimNamesItsDriver) {
    long long n = file_request(s, t);
    const std::string number = std::to_string(n);
    ASSERT_EQ(s.post(t.dana, req(n, "/claim"), {}).status, 200);
    const auto before = version(n);
    auto run = s.cli(t.sam, {"claim", number});
    EXPECT_EQ(run.status, 10) << run.err;
    EXPECT_EQ(run.err,
              "datafix: the request is already claimed by another developer: Dana Driver "
              "<dana@example.com>\nHINT: ask the driver to hand it over (datafix handover " +
                  number + " --to sam@example.com), or wait until the lease ends\n");
    EXPECT_EQ(version(n), before);
}

TEST_F(Messages, UnknownEnvironmentIsOneRefusalFromEveryVerb) {
    long long n = file_request(s, t);
    prepare(s, t, n);
    const std::string number = std::to_string(n);
    const auto before = version(n);
    const std::string expected =
        "datafix: no environment named 'prdo'\n"
        "HINT: use one of the configured environments: dev, test, prod\n";
    for (const auto& [who, verb] :
         std::vector<std::pair<std::string, std::string>>{{t.dana, "preview"},
                                                          {t.dana, "apply"},
                                                          {t.sam, "approve"},
                                                          {t.dana, "preflight"},
                                                          {t.dana, "backup"}}) {
        auto run = s.cli(who, {verb, number, "prdo"});
        EXPECT_EQ(run.status, 14) << verb << ": " << run.err;
        EXPECT_EQ(run.err, expected) << verb;
    }
    EXPECT_EQ(version(n), before);
}

TEST_F(Messages, AnUnknownRequestIsOneAnswerFromEveryRoute) {
    long long n = file_request(s, t);
    const std::string missing = std::to_string(n + 1000);
    for (const std::string& path :
         {"/api/requests/" + missing, "/api/requests/" + missing + "/timeline",
          "/api/requests/" + missing + "/events",
          "/api/requests/" + missing + "/environments/dev/preflight",
          "/api/requests/" + missing + "/runs/1"}) {
        Answer answer = s.get(t.po, path);
        EXPECT_EQ(answer.status, 404) << path << ": " << answer.body.dump();
        EXPECT_EQ(answer.body["rule"], "request-not-found") << path;
        EXPECT_EQ(answer.body["message"], "no request " + missing) << path;
        EXPECT_EQ(answer.body["hint"], "list requests with datafix list") << path;
    }
    auto shown = s.cli(t.po, {"show", missing});
    EXPECT_NE(shown.status, 0);
    EXPECT_EQ(shown.err,
              "datafix: no request " + missing + "\nHINT: list requests with datafix list\n");
}

TEST_F(Messages, ARequestedDateMustBeIso8601) {
    const std::string before = requests();
    auto run = s.cli(t.po, {"request", "--title", "Correct a name", "--reason", "asked by phone",
                            "--date", "15/12/2026"});
    EXPECT_EQ(run.status, 4) << run.err;
    EXPECT_EQ(run.err,
              "datafix: the requested date '15/12/2026' is not a date written YYYY-MM-DD\n"
              "HINT: give it as year-month-day, e.g. --date 2026-12-15\n");
    EXPECT_EQ(requests(), before);
    auto good = s.cli(t.po, {"request", "--title", "Correct a name", "--reason", "asked by phone",
                             "--date", "2026-12-15"});
    EXPECT_EQ(good.status, 0) << good.err;
}

TEST_F(Messages, AnUnknownRequesterIsNamedAsTyped) {
    const std::string before = requests();
    auto run = s.cli(t.dana, {"request", "--title", "Correct a name", "--reason", "asked", "--for",
                              "nobody@example.com"});
    EXPECT_EQ(run.status, 14) << run.err;
    EXPECT_EQ(run.err,
              "datafix: no person nobody@example.com\n"
              "HINT: name them by email (datafix users list shows everyone)\n");
    EXPECT_EQ(requests(), before);
}

TEST_F(Messages, TheShownHashPrefixApprovesProduction) {
    long long n = file_request(s, t);
    prepare(s, t, n);
    promote(s, t, n, "dev");
    promote(s, t, n, "test");
    const std::string number = std::to_string(n);
    const std::string hash = revision_hash(state_of(s, t.po, n));
    const auto before = version(n);
    auto short_run = s.cli(t.po, {"approve-prod", number, "--revision", hash.substr(0, 8)});
    EXPECT_EQ(short_run.status, 4) << short_run.err;
    EXPECT_EQ(short_run.err, "datafix: the revision hash '" + hash.substr(0, 8) +
                                 "' is shorter than 12 characters\nHINT: give at least the 12 "
                                 "characters shown; the current revision 1 is " +
                                 hash.substr(0, 12) + "\n");
    EXPECT_EQ(version(n), before);
    auto run = s.cli(t.po, {"approve-prod", number, "--revision", hash.substr(0, 12)});
    EXPECT_EQ(run.status, 0) << run.err;
    EXPECT_NE(run.out.find("you approved revision " + hash.substr(0, 12) + " for production"),
              std::string::npos)
        << run.out;
}

TEST_F(Messages, AuditLimitShowsTheNewestEntries) {
    long long n = file_request(s, t);
    prepare(s, t, n);
    auto all = nlohmann::json::parse(s.cli(s.admin_token(), {"audit", "--output", "json"}).out);
    const auto& entries = all["entries"];
    ASSERT_GT(entries.size(), 4u);
    auto last = nlohmann::json::parse(
        s.cli(s.admin_token(), {"audit", "--limit", "3", "--output", "json"}).out)["entries"];
    ASSERT_EQ(last.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(last[i]["seq"], entries[entries.size() - 3 + i]["seq"]);
    }
}

}  // namespace datafix::e2e
