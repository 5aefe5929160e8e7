// Shared helpers for the target layer's integration tests: a private copy of the sample database
// per test, an environment pointing at it, plans through the real SQL guard, and a digest of the
// tables a change could touch so "exactly as it was" is one comparison.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <string>

#include "core/crypto.hpp"
#include "core/error.hpp"
#include "harness/pg_cluster.hpp"
#include "sql/analysis.hpp"
#include "targetdb/plan_builder.hpp"
#include "targetdb/preflight.hpp"
#include "targetdb/session.hpp"

namespace datafix::targetdb::test {

inline std::string unique_name(const std::string& prefix) {
    static std::atomic<int> counter{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
    if (info != nullptr) {
        name += "_" + std::string(info->name()).substr(0, 20);
    }
    for (auto& c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c))) {
            c = '_';
        }
    }
    return name;
}

inline testing::PgCluster& dev() {
    return testing::SampleClusters::get().dev();
}

inline bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// The application function pre-flight resolved with this signature, for `place`.
inline const FunctionReport* function(const PreflightReport& report, const std::string& signature,
                                      CallPlace place = CallPlace::change) {
    for (const auto& f : report.functions) {
        if (f.signature == signature && f.place == place) {
            return &f;
        }
    }
    return nullptr;
}

// Pre-flight's function_refused findings.
inline std::vector<const Finding*> refusals(const PreflightReport& report) {
    std::vector<const Finding*> out;
    for (const auto& f : report.findings) {
        if (f.kind == FindingKind::function_refused) {
            out.push_back(&f);
        }
    }
    return out;
}

inline const TableReport* table(const PreflightReport& report, const std::string& qualified) {
    for (const auto& t : report.tables) {
        if (t.qualified == qualified) {
            return &t;
        }
    }
    return nullptr;
}

// What a run changed in one table of its write closure.
inline const TableChanges* changes_of(const Evidence& e, const std::string& table) {
    for (const auto& c : e.closure) {
        if (c.qualified() == table) {
            return &c;
        }
    }
    return nullptr;
}

// A fresh database copied from the sample `app` database on `cluster`.
struct TestDatabase {
    testing::PgCluster& cluster;
    std::string name;

    explicit TestDatabase(testing::PgCluster& c) : cluster(c), name(unique_name("t")) {
        cluster.create_database(name);
    }
    ~TestDatabase() {
        try {
            cluster.psql("DROP DATABASE IF EXISTS \"" + name + "\" WITH (FORCE)", "postgres");
        } catch (...) {
            // Leftovers go away with the cluster.
        }
    }
    // psql's output without the trailing newline.
    std::string psql(const std::string& sql) const {
        auto out = cluster.psql(sql, name);
        while (!out.empty() && out.back() == '\n') {
            out.pop_back();
        }
        return out;
    }

    EnvironmentTarget target(const std::string& env = "dev") const {
        EnvironmentTarget t;
        t.name = env;
        t.conninfo = cluster.conninfo(name, "datafix_login") + " password=datafix-test-password";
        t.role = "app_owner";
        t.pinned_system_identifier = cluster.system_identifier();
        t.application_name = "datafix target test";
        t.session_settings["jwt.claims.sub"] =
            psql("SELECT sub FROM app_public.app_user WHERE id = 1");
        // As a team configures it: the sample's SECURITY DEFINER trigger, which fills the
        // program's private review queue, is vouched for.
        t.vouch_security_definer = {"app_private.queue_for_review"};
        return t;
    }

    // Digest of every table a change in these tests can touch, audit records included.
    std::string state() const {
        return psql(
            "SELECT md5(string_agg(x, '|')) FROM ("
            " SELECT (SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY id), '')) "
            "         FROM app_public.application t) AS x"
            " UNION ALL SELECT (SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY id), '')) "
            "         FROM app_public.application_status t)"
            " UNION ALL SELECT (SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY id), '')) "
            "         FROM app_public.app_user t)"
            " UNION ALL SELECT (SELECT count(*)::text FROM app_public.record_version)) s");
    }
};

struct TempImages {
    std::string dir;
    Key key = Key::generate();
    ImageStore store;
    TempImages()
        : dir(std::filesystem::temp_directory_path() / unique_name("datafix_images")),
          store(key, dir) {}
    std::size_t files() const {
        std::size_t n = 0;
        for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) {
            ++n;
        }
        return n;
    }
    ~TempImages() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
};

inline ChangePlan plan_for(const std::string& change_sql,
                           const std::vector<std::optional<long long>>& expected,
                           const std::string& verify_sql = {}) {
    auto change = sql::analyze(change_sql, sql::FileRole::change, "change.sql");
    if (verify_sql.empty()) {
        return build_change_plan("target test", change, expected);
    }
    auto verify = sql::analyze(verify_sql, sql::FileRole::verify, "verify.sql");
    return build_change_plan("target test", change, expected, &verify);
}

// Runs `body`, expecting Error with `code`; returns its describe() text for message checks.
template <typename Body>
std::string expect_error(ErrorCode code, Body&& body) {
    try {
        body();
    } catch (const Error& e) {
        EXPECT_EQ(code_name(e.code()), code_name(code)) << e.describe();
        return e.describe();
    }
    ADD_FAILURE() << "expected an error with code " << code_name(code);
    return {};
}

inline const BeforeCommit kNoHook = [](const std::string&, int, const Evidence&) {};

}  // namespace datafix::targetdb::test
