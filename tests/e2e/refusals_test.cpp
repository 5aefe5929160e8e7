// Every refusal is a 4xx JSON answer naming its rule, and changes nothing: the request's version
// and the target rows stay as they were.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "runbook_steps.hpp"

namespace datafix::e2e {

namespace {

class Refusals : public ::testing::Test {
  protected:
    ServerFixture s;
    Team t = make_team(s);

    std::int64_t version(long long n) { return state_of(s, t.po, n)["version"]; }
    std::string dev_name() {
        return s.psql("dev", "SELECT family_name FROM app_public.app_user WHERE id = 3");
    }
    // Asserts the answer is a refusal with `status` and that request n did not change.
    void refused(long long n, std::int64_t before, const Answer& a, int status) {
        expect_refused(s, t.po, n, a, status);
        EXPECT_EQ(version(n), before) << "a refusal changed the request";
    }
};

}  // namespace

TEST_F(Refusals, SelfApproval) {
    long long n = file_request(s, t);
    prepare(s, t, n);
    ASSERT_EQ(s.post(t.dana, env_path(n, "dev", "preview"), {}).status, 200);
    auto st = state_of(s, t.dana, n);
    auto v = version(n);
    refused(n, v,
            s.post(t.dana, env_path(n, "dev", "approve"),
                   {{"revision_hash", revision_hash(st)}, {"fingerprint", fingerprint(st, "dev")}}),
            409);
}

TEST_F(Refusals, SecondClaim) {
    long long n = file_request(s, t);
    ASSERT_EQ(s.post(t.dana, req(n, "/claim"), {}).status, 200);
    auto v = version(n);
    refused(n, v, s.post(t.sam, req(n, "/claim"), {}), 409);
}

TEST_F(Refusals, SixtyFourConcurrentClaimsOneWins) {
    long long n = file_request(s, t);
    std::vector<std::string> tokens;
    for (int i = 0; i < 64; ++i) {
        tokens.push_back(s.add_person("Developer " + std::to_string(i),
                                      "dev" + std::to_string(i) + "@example.com", "developer"));
    }
    std::atomic<int> wins{0};
    std::atomic<int> refusals{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (const auto& token : tokens) {
        threads.emplace_back([&, token] {
            while (!go) {
                std::this_thread::yield();
            }
            Answer a = s.post(token, req(n, "/claim"), {});
            if (a.status == 200) {
                ++wins;
            } else if (a.status == 409) {
                ++refusals;
            } else {
                ADD_FAILURE() << "claim answered " << a.status << " " << a.body.dump();
            }
        });
    }
    go = true;
    for (auto& th : threads) {
        th.join();
    }
    EXPECT_EQ(wins, 1);
    EXPECT_EQ(refusals, 63);
    EXPECT_EQ(s.get("", "/healthz").status, 200) << read_file(s.dir() + "/server.err");
}

TEST_F(Refusals, TestBeforeDev) {
    long long n = file_request(s, t);
    prepare(s, t, n);
    auto v = version(n);
    refused(n, v, s.post(t.dana, env_path(n, "test", "preview"), {}), 409);
}

TEST_F(Refusals, ProdBeforeProductOwnerApproval) {
    long long n = file_request(s, t);
    prepare(s, t, n);
    promote(s, t, n, "dev");
    promote(s, t, n, "test");
    auto v = version(n);
    refused(n, v, s.post(t.dana, env_path(n, "prod", "preview"), {}), 409);
}

TEST_F(Refusals, ProductOwnerAsPair) {
    long long n = file_request(s, t);
    ASSERT_EQ(s.post(t.dana, req(n, "/claim"), {}).status, 200);
    auto v = version(n);
    Answer a = s.post(t.po, req(n, "/pair"), {});
    EXPECT_TRUE(a.status == 403 || a.status == 409) << a.body.dump();
    refused(n, v, a, a.status);
}

TEST_F(Refusals, ApprovalOfAnOlderRevision) {
    long long n = file_request(s, t);
    prepare(s, t, n);
    ASSERT_EQ(s.post(t.dana, env_path(n, "dev", "preview"), {}).status, 200);
    auto old_state = state_of(s, t.sam, n);
    Answer second = s.post(
        t.dana, req(n, "/revisions"),
        {{"change_sql", "UPDATE app_public.app_user SET family_name = 'Other' WHERE id = 3;"},
         {"expected", {1}}});
    ASSERT_EQ(second.status, 200) << second.body.dump();
    auto v = version(n);
    refused(n, v,
            s.post(t.sam, env_path(n, "dev", "approve"),
                   {{"revision_hash", revision_hash(old_state)},
                    {"fingerprint", fingerprint(old_state, "dev")}}),
            409);
}

TEST(LeaseRefusal, ApplyAfterTheLeaseEnded) {
    // The 30-minute claim lease ends because the server's test clock (core/test_clock.hpp)
    // moves an hour on, not because the test waits.
    const std::string clock = ::testing::TempDir() + "lease-clock-" + std::to_string(::getpid());
    std::filesystem::remove(clock);
    ServerOptions options;
    options.server_env["DATAFIX_TEST_CLOCK"] = clock;
    ServerFixture s(options);
    Team t = make_team(s);
    long long n = file_request(s, t);
    prepare(s, t, n);
    ASSERT_EQ(s.post(t.dana, env_path(n, "dev", "preview"), {}).status, 200);
    auto st = state_of(s, t.sam, n);
    ASSERT_EQ(
        s.post(t.sam, env_path(n, "dev", "approve"),
               {{"revision_hash", revision_hash(st)}, {"fingerprint", fingerprint(st, "dev")}})
            .status,
        200);
    std::ofstream(clock) << "3600\n";
    std::string before = s.psql("dev", "SELECT family_name FROM app_public.app_user WHERE id = 3");
    std::int64_t v = state_of(s, t.po, n)["version"];
    Answer a =
        s.post(t.dana, env_path(n, "dev", "apply"), {{"fingerprint", fingerprint(st, "dev")}});
    EXPECT_EQ(a.status, 409) << a.body.dump();
    EXPECT_EQ(a.body["rule"], "lease-expired") << a.body.dump();
    EXPECT_EQ(state_of(s, t.po, n)["version"], v);
    EXPECT_EQ(s.psql("dev", "SELECT family_name FROM app_public.app_user WHERE id = 3"), before);
    std::filesystem::remove(clock);
}

TEST_F(Refusals, MissingWrongAndRevokedTokens) {
    long long n = file_request(s, t);
    auto v = version(n);
    refused(n, v, s.post("", req(n, "/claim"), {}), 401);
    refused(n, v, s.post("dfx_" + std::string(64, '0'), req(n, "/claim"), {}), 401);
    Answer me = s.get(t.sam, "/api/me");
    ASSERT_EQ(me.status, 200);
    ASSERT_EQ(s.post(s.admin_token(),
                     "/api/users/" + std::to_string(me.body["id"].get<int>()) + "/deactivate", {})
                  .status,
              200);
    refused(n, v, s.post(t.sam, req(n, "/claim"), {}), 401);
    EXPECT_EQ(s.get("", "/api/requests").status, 401);
}

TEST_F(Refusals, WrongRole) {
    long long n = file_request(s, t);
    auto v = version(n);
    Answer a = s.post(t.dana, "/api/users",
                      {{"name", "Mallory"}, {"email", "mallory@example.com"}, {"role", "admin"}});
    EXPECT_EQ(a.status, 403) << a.body.dump();
    EXPECT_EQ(s.get(s.admin_token(), "/api/users").body["users"].size(), 4u);
    refused(n, v, s.post(t.po, req(n, "/claim"), {}), 403);
}

TEST_F(Refusals, MalformedJsonAndOversizedBodies) {
    long long n = file_request(s, t);
    ASSERT_EQ(s.post(t.dana, req(n, "/claim"), {}).status, 200);
    auto v = version(n);
    refused(n, v, s.post_raw(t.dana, req(n, "/revisions"), "{\"change_sql\": "), 400);
    refused(n, v, s.post_raw(t.dana, req(n, "/revisions"), "[1, 2]"), 400);
    std::string big = "UPDATE app_public.app_user SET family_name = '" + std::string(70000, 'x') +
                      "' WHERE id = 3;";
    refused(n, v, s.post(t.dana, req(n, "/revisions"), {{"change_sql", big}, {"expected", {1}}}),
            400);
    refused(n, v, s.post_raw(t.dana, "/api/requests", std::string(200000, '{')), 400);
}

TEST_F(Refusals, TheSqlGuardsReasons) {
    long long n = file_request(s, t);
    ASSERT_EQ(s.post(t.dana, req(n, "/claim"), {}).status, 200);
    auto v = version(n);
    Answer a = s.post(
        t.dana, req(n, "/revisions"),
        {{"change_sql", "UPDATE app_public.app_user SET family_name = 'x';"}, {"expected", {1}}});
    refused(n, v, a, 409);
    EXPECT_EQ(a.body["error"], "refused");
    EXPECT_TRUE(a.body["details"].contains("statements")) << a.body.dump();
}

}  // namespace datafix::e2e
