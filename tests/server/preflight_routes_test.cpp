// GET /api/requests/N/environments/ENV/preflight (routes_preflight.cpp) answered in-process
// against a real PostgreSQL 15 cluster with the sample schema (tests/harness): the report of what
// the current revision will meet there, for the request's people only, read without starting a
// run; each refusal with its rule and message, and nothing changed in the ledger or the target.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "core/hash.hpp"
#include "harness/pg_cluster.hpp"
#include "server/in_process_api.hpp"
#include "sql/analysis.hpp"

namespace datafix::server {
namespace {

using in_process::Answer;
using in_process::expect_error;
using in_process::InProcessApi;
using nlohmann::json;

// The literal must never appear in a report.
const char* kChange =
    "UPDATE app_public.app_user SET family_name = 'Preflight-Literal' WHERE id = 3;\n";

class PreflightRoutes : public InProcessApi {
  protected:
    static void SetUpTestSuite() {
        testing::PgCluster& dev = testing::SampleClusters::get().dev();
        conninfo_ = dev.create_database("preflight_routes", "app", "datafix_login");
        system_identifier_ = dev.system_identifier();
    }

    // dev is the sample cluster; "test" reaches the same cluster but is pinned to another one.
    std::string config_text() const override {
        return "[server]\n"
               "[[environment]]\nname = \"dev\"\nconninfo = \"" +
               conninfo_ + "\"\nrole = \"app_owner\"\nsystem_identifier = \"" + system_identifier_ +
               "\"\napprovals = [\"pair\"]\n" + "[[environment]]\nname = \"test\"\nconninfo = \"" +
               conninfo_ +
               "\"\nrole = \"app_owner\"\nsystem_identifier = \"7301234567890123458\"\n"
               "approvals = [\"pair\"]\n";
    }

    std::string family_name() {
        return testing::SampleClusters::get().dev().psql(
            "SELECT family_name FROM app_public.app_user WHERE id = 3", "preflight_routes");
    }

    // Claimed by Dana with kChange as its revision (the SQL guard in-process, as the route's
    // worker runs it).
    std::int64_t request_with_change() {
        const auto number = file_request();
        EXPECT_EQ(
            call("POST", "/api/requests/" + std::to_string(number) + "/claim", dev.token).status,
            200);
        workflow::AttachRevision revision;
        revision.change_sql = kChange;
        const sql::Analysis analysis = sql::analyze(kChange, sql::FileRole::change, "change.sql");
        EXPECT_TRUE(analysis.all_allowed());
        for (const auto& s : analysis.statements) {
            revision.statements.push_back({s.normalized, s.fingerprint, sha256_hex(s.text), 1});
        }
        EXPECT_TRUE(context->perform(number, revision, dev.person).allowed());
        return number;
    }

    Answer preflight(std::int64_t number, const std::string& environment,
                     const std::string& token) {
        return call("GET",
                    "/api/requests/" + std::to_string(number) + "/environments/" + environment +
                        "/preflight",
                    token);
    }

    static std::string conninfo_;
    static std::string system_identifier_;
};

std::string PreflightRoutes::conninfo_;
std::string PreflightRoutes::system_identifier_;

TEST_F(PreflightRoutes, TheRequestsPeopleReadTheReportOfTheCurrentRevision) {
    const auto number = request_with_change();
    const std::string n = std::to_string(number);
    const json before = call("GET", "/api/requests/" + n, po.token).body;
    const std::string name = family_name();

    for (const auto* person : {&dev, &po}) {
        SCOPED_TRACE(person->person.name);
        Answer a = preflight(number, "dev", person->token);
        ASSERT_EQ(a.status, 200) << a.body.dump();
        EXPECT_EQ(a.content_type, "application/json");
        const json& r = a.body;
        EXPECT_EQ(r["request"], number);
        EXPECT_EQ(r["revision"], 1);
        EXPECT_EQ(r["revision_hash"], before["progress"]["revision_hash"]) << r.dump();
        EXPECT_EQ(r["environment"], "dev");
        EXPECT_EQ(r["role"], "app_owner");
        EXPECT_EQ(r["login"], "datafix_login");
        EXPECT_EQ(r["system_identifier"], system_identifier_);
        EXPECT_EQ(r["ok"], true) << r.dump(2);
        ASSERT_TRUE(r["statements"].is_array());
        EXPECT_EQ(r["statements"].size(), 1U);
        ASSERT_TRUE(r["tables"].is_array());
        ASSERT_TRUE(r["findings"].is_array());
        for (const json& f : r["findings"]) {
            EXPECT_NE(f["severity"], "blocker") << f.dump();
        }
        ASSERT_TRUE(r["text"].is_string());
        EXPECT_NE(r["text"].get<std::string>().find("app_public.app_user"), std::string::npos)
            << r["text"];
        EXPECT_EQ(r.dump().find("Preflight-Literal"), std::string::npos) << "no literal values";
    }

    // Reading the report started no run and changed nothing, in the ledger or on the cluster.
    const json after = call("GET", "/api/requests/" + n, po.token).body;
    EXPECT_EQ(after["version"], before["version"]);
    EXPECT_TRUE(after["runs"].empty());
    EXPECT_EQ(family_name(), name);
}

TEST_F(PreflightRoutes, OthersNoTokenUnknownRequestsAndEnvironmentsAreRefused) {
    const auto number = request_with_change();
    Answer outsider = preflight(number, "dev", other.token);
    expect_error(outsider, 403, "forbidden", "preflight-private");
    EXPECT_NE(outsider.body["message"].get<std::string>().find("the pre-flight report"),
              std::string::npos)
        << outsider.body.dump();
    // A read-only token is no member either.
    expect_error(preflight(number, "dev", reader.token), 403, "forbidden", "preflight-private");
    expect_error(preflight(number, "dev", ""), 401, "unauthenticated", "token-required");
    Answer unknown = preflight(99, "dev", dev.token);
    expect_error(unknown, 404, "not_found", "request-not-found");
    Answer staging = preflight(number, "staging", dev.token);
    expect_error(staging, 404, "not_found", "environment-unknown");
    EXPECT_NE(staging.body["message"].get<std::string>().find("staging"), std::string::npos);
    EXPECT_EQ(staging.body["hint"], "use one of the configured environments: dev, test");
}

TEST_F(PreflightRoutes, ARequestWithoutAChangeHasNoReport) {
    const auto number = file_request();
    Answer a = preflight(number, "dev", po.token);
    expect_error(a, 409, "rule", "change-required");
    EXPECT_EQ(a.body["hint"], "attach one: datafix change " + std::to_string(number) +
                                  " --change FILE --expect ROWS");
}

TEST_F(PreflightRoutes, AClusterThatIsNotTheEnvironmentsPinIsRefusedBeforeAnythingIsRead) {
    const auto number = request_with_change();
    const std::string name = family_name();
    Answer a = preflight(number, "test", dev.token);
    EXPECT_EQ(a.status, 422) << a.body.dump();
    EXPECT_EQ(a.body.value("error", ""), "target_refused");
    const std::string message = a.body.value("message", "");
    EXPECT_NE(message.find("wrong cluster"), std::string::npos) << message;
    EXPECT_NE(message.find("7301234567890123458"), std::string::npos) << message;
    EXPECT_NE(a.body.value("hint", "").find("check the conninfo"), std::string::npos);
    EXPECT_FALSE(a.body.contains("findings"));
    EXPECT_EQ(family_name(), name);
}

}  // namespace
}  // namespace datafix::server
