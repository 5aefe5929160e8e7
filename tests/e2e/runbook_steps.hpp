// The runbook's steps as one-line helpers for the end-to-end tests, with the three people.
#pragma once

#include <gtest/gtest.h>

#include "server_fixture.hpp"

namespace datafix::e2e {

struct Team {
    std::string po;    // Priya, product owner
    std::string dana;  // driver
    std::string sam;   // pair
};

inline Team make_team(ServerFixture& s) {
    return {s.add_person("Priya Owner", "priya@example.com", "product_owner"),
            s.add_person("Dana Driver", "dana@example.com", "developer"),
            s.add_person("Sam Pair", "sam@example.com", "developer")};
}

inline std::string req(long long n, const std::string& rest = "") {
    return "/api/requests/" + std::to_string(n) + rest;
}
inline std::string env_path(long long n, const std::string& env, const std::string& what) {
    return req(n, "/environments/" + env + "/" + what);
}

inline long long file_request(ServerFixture& s, const Team& t) {
    Answer a = s.post(t.po, "/api/requests",
                      {{"title", "Correct an applicant's family name"},
                       {"reason", "asked by phone"},
                       {"requested_date", "2026-12-01"},
                       {"ticket", "https://tickets.example.com/DF-7"}});
    EXPECT_EQ(a.status, 201) << a.body.dump();
    return a.body["number"];
}

inline nlohmann::json state_of(ServerFixture& s, const std::string& token, long long n) {
    return s.get(token, req(n)).body;
}

inline std::string fingerprint(const nlohmann::json& state, const std::string& env) {
    for (const auto& e : state["progress"]["environments"]) {
        if (e["name"] == env) {
            return e["fingerprint"];
        }
    }
    return {};
}
inline std::string revision_hash(const nlohmann::json& state) {
    return state["progress"]["revision_hash"];
}

inline const char* kChange =
    "UPDATE app_public.app_user SET family_name = 'Renamed' WHERE id = 3;\n";
inline const char* kVerify = "SELECT id, family_name FROM app_public.app_user WHERE id = 3;\n";

// claim + pair + change: the request is ready for dev.
inline void prepare(ServerFixture& s, const Team& t, long long n,
                    const std::string& change = kChange) {
    ASSERT_EQ(s.post(t.dana, req(n, "/claim"), {}).status, 200);
    ASSERT_EQ(s.post(t.sam, req(n, "/pair"), {}).status, 200);
    Answer a = s.post(t.dana, req(n, "/revisions"),
                      {{"change_sql", change}, {"verify_sql", kVerify}, {"expected", {1}}});
    ASSERT_EQ(a.status, 200) << a.body.dump();
}

// preview, pair approval and apply on one environment.
inline void promote(ServerFixture& s, const Team& t, long long n, const std::string& env) {
    Answer p = s.post(t.dana, env_path(n, env, "preview"), {});
    ASSERT_EQ(p.status, 200) << env << ": " << p.body.dump();
    nlohmann::json st = state_of(s, t.sam, n);
    Answer a =
        s.post(t.sam, env_path(n, env, "approve"),
               {{"revision_hash", revision_hash(st)}, {"fingerprint", fingerprint(st, env)}});
    ASSERT_EQ(a.status, 200) << env << ": " << a.body.dump();
    Answer ap = s.post(t.dana, env_path(n, env, "apply"), {{"fingerprint", fingerprint(st, env)}});
    ASSERT_EQ(ap.status, 200) << env << ": " << ap.body.dump();
}

// A refusal that changed nothing: the status, the rule's JSON body, the same request version.
inline void expect_refused(ServerFixture& s, const std::string& token, long long n,
                           const Answer& answer, int status) {
    EXPECT_EQ(answer.status, status) << answer.body.dump();
    EXPECT_TRUE(answer.body.contains("error") && answer.body.contains("rule") &&
                answer.body.contains("message") && answer.body.contains("hint"))
        << answer.body.dump();
    (void)s;
    (void)token;
    (void)n;
}

}  // namespace datafix::e2e
