// Steps the crash suites share (crash_test, crash_points_test, run_lease_test): a request
// approved in dev, its runs and data as the tests read them, a bounded wait, and a step sent to a
// server that a fault point kills on the way.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <thread>

#include "runbook_steps.hpp"

namespace datafix::e2e {

// claim, pair, change, dev preview and the pair's approval; returns the approved fingerprint.
inline std::string approved_in_dev(ServerFixture& s, const Team& t, long long n) {
    prepare(s, t, n);
    Answer p = s.post(t.dana, env_path(n, "dev", "preview"), {});
    EXPECT_EQ(p.status, 200) << p.body.dump();
    nlohmann::json st = state_of(s, t.sam, n);
    Answer a =
        s.post(t.sam, env_path(n, "dev", "approve"),
               {{"revision_hash", revision_hash(st)}, {"fingerprint", fingerprint(st, "dev")}});
    EXPECT_EQ(a.status, 200) << a.body.dump();
    return fingerprint(st, "dev");
}

// The dev runs of one kind in a request's state.
inline std::vector<nlohmann::json> dev_runs(const nlohmann::json& state, const std::string& kind) {
    std::vector<nlohmann::json> out;
    for (const auto& r : state["runs"]) {
        if (r["kind"] == kind && r["environment"] == "dev") {
            out.push_back(r);
        }
    }
    return out;
}

inline std::vector<nlohmann::json> runs_of(ServerFixture& s, const Team& t, long long n,
                                           const std::string& kind) {
    return dev_runs(state_of(s, t.po, n), kind);
}

// The row kChange renames, in dev.
inline std::string family_name(ServerFixture& s) {
    return s.psql("dev", "SELECT family_name FROM app_public.app_user WHERE id = 3");
}

// An answer of GET /api/audit/verify.
inline void expect_audit_intact(const Answer& verify) {
    ASSERT_EQ(verify.status, 200);
    EXPECT_TRUE(verify.body["intact"].get<bool>()) << verify.body.dump();
}

inline void expect_audit_intact(ServerFixture& s, const Team& t) {
    expect_audit_intact(s.get(t.po, "/api/audit/verify"));
}

// Waits until `done` holds; the bound only ends a broken test.
inline bool eventually(const std::function<bool()>& done,
                       std::chrono::seconds bound = std::chrono::seconds(60)) {
    auto until = std::chrono::steady_clock::now() + bound;
    while (std::chrono::steady_clock::now() < until) {
        if (done()) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return done();
}

// Posts a step to a server armed with `fault` (see ServerFixture::restart) and waits for the
// fault point to kill it: the answer never comes. The server is left dead; the caller starts it
// again or not.
inline void post_until_killed(ServerFixture& s, const std::string& token, const std::string& path,
                              const nlohmann::json& body, const std::string& fault) {
    Answer a = s.post(token, path, body);
    EXPECT_EQ(a.status, 0) << "the server answered instead of dying at " << fault << ": "
                           << a.body.dump();
    ASSERT_TRUE(s.wait_for_exit(std::chrono::seconds(20)))
        << "the server did not stop at " << fault;
}

// The dev apply, on a server that kills itself at `fault`, then the server started again.
inline void apply_until_killed(ServerFixture& s, const Team& t, long long n,
                               const std::string& approved, const std::string& fault) {
    s.restart({{"DATAFIX_FAULT", fault}});
    post_until_killed(s, t.dana, env_path(n, "dev", "apply"), {{"fingerprint", approved}}, fault);
    s.restart({{"DATAFIX_FAULT", ""}});
}

}  // namespace datafix::e2e
