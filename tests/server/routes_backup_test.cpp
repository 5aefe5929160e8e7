// The backup routes answered in-process (server/api_error.hpp's answer()), on a real SQLite
// ledger, the real workflow and run::Backups, against a real PostgreSQL 15 cluster dumped by
// Debian's pg_dump (or a configured command the test releases through a file): who may start,
// cancel and read a job, the statuses and JSON the CLI and the pages read, and refusals that name
// what is wrong and change nothing (no job, no file, no backup recorded).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/hash.hpp"
#include "harness/pg_cluster.hpp"
#include "ledger/ledger.hpp"
#include "run/backups.hpp"
#include "server/in_process_api.hpp"
#include "server/routes.hpp"
#include "sql/analysis.hpp"

namespace datafix::server {
namespace {

using nlohmann::json;
using testing::PgCluster;

// Writes app_user and, through its trigger, the audit table record_version: the write closure.
const char* kChange = "UPDATE app_public.app_user SET family_name = 'Renamed' WHERE id = 3;\n";

using in_process::Answer;
using in_process::expect_error;

class BackupRoutes : public in_process::InProcessApi {
  protected:
    static void SetUpTestSuite() {
        cluster_ = testing::create_backup_cluster("routes-backup", 20).release();
    }
    static void TearDownTestSuite() {
        delete cluster_;
        cluster_ = nullptr;
    }

    // A database of its own per test, the directories its backups go to.
    void prepare() override {
        std::filesystem::create_directories(dir / "backups");
        std::filesystem::create_directories(dir / "gated");
        database = "routes_backup_" + std::to_string(++databases_);
        target = cluster_->create_database(database, "app", "datafix_login");
    }

    // dev has no backup method; test's is a command that waits for the file "go"; prod's is
    // pg_dump of the write closure.
    std::string config_text() const override {
        auto environment = [&](const std::string& name) {
            return "[[environment]]\nname = \"" + name + "\"\nconninfo = \"" + target +
                   "\"\nrole = \"app_owner\"\nsystem_identifier = \"" +
                   cluster_->system_identifier() + "\"\napprovals = [\"pair\"]\n";
        };
        return "[server]\n" + environment("dev") + environment("test") +
               "[environment.backup]\nmethod = \"command\"\ndirectory = \"" +
               (dir / "gated").string() + "\"\ncommand = [\"/bin/sh\", \"-c\", \"while [ ! -e " +
               (dir / "gated/go").string() +
               " ]; do sleep 0.05; done; echo label-{request}-{environment}\"]\n" +
               environment("prod") +
               "production = true\n[environment.backup]\nmethod = \"pg_dump\"\n" +
               "directory = \"" + (dir / "backups").string() + "\"\nconninfo = \"" +
               cluster_->conninfo(database, "datafix_backup") + "\"\nrole = \"datafix_backup\"\n";
    }

    void add_routes() override {
        model::AuditEvent event;
        event.at = model::wall_clock_now();
        nobody = context->with_ledger([&](ledger::Ledger& l) {
            return l.create_user({"Noor None", "noor@example.com", model::Role::none}, event);
        });
        backups = std::make_unique<run::Backups>(*context, "routes-backup-test");
        add_backup_routes(router, *context, *backups);
    }

    void stop() override {
        // Releases a gated job still waiting, so stopping the jobs never waits on the command.
        { std::ofstream go(dir / "gated/go"); }
        backups.reset();
    }

    // The backup routes read an empty object as "no options".
    Answer call(const std::string& method, const std::string& path, const std::string& token,
                const std::string& body = "{}") {
        return InProcessApi::call(method, path, token, body);
    }

    std::string backup_path(std::int64_t n, const std::string& environment) {
        return "/api/requests/" + std::to_string(n) + "/environments/" + environment + "/backup";
    }

    // A request the product owner filed; claimed by Dana unless `claimed` is false, with the
    // change attached (as the request routes attach it, analysed here in-process) unless
    // `revision` is false.
    std::int64_t request_for_backup(bool claimed = true, bool revision = true) {
        Answer filed = call("POST", "/api/requests", po.token,
                            json{{"title", "rename a user"}, {"reason", "asked by email"}}.dump());
        EXPECT_EQ(filed.status, 201) << filed.body.dump();
        const std::int64_t n = filed.body.value("number", std::int64_t{0});
        if (claimed) {
            EXPECT_EQ(
                call("POST", "/api/requests/" + std::to_string(n) + "/claim", dev.token).status,
                200);
        }
        if (revision) {
            workflow::AttachRevision attach;
            attach.change_sql = kChange;
            sql::Analysis change = sql::analyze(kChange, sql::FileRole::change, "change.sql");
            for (const auto& s : change.statements) {
                attach.statements.push_back({s.normalized, s.fingerprint, sha256_hex(s.text), 1});
            }
            workflow::Decision d = context->perform(n, attach, dev.person);
            EXPECT_TRUE(d.allowed()) << (d.refusal ? d.refusal->rule : "");
        }
        return n;
    }

    // The job (as GET .../backup lists it) once it is no longer running.
    json ended_job(std::int64_t n, const std::string& environment, int job) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
        json found;
        while (std::chrono::steady_clock::now() < deadline) {
            const Answer listed = call("GET", backup_path(n, environment), dev.token);
            for (const json& j : listed.body["jobs"]) {
                if (j["job"] == job) {
                    found = j;
                }
            }
            if (found.is_object() && found["state"] != "running") {
                return found;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        ADD_FAILURE() << "backup job " << job << " still running: " << found.dump();
        return found;
    }

    std::size_t ledger_jobs(std::int64_t n) {
        return context->with_ledger([&](ledger::Ledger& l) { return l.backup_jobs(n); }).size();
    }
    std::size_t recorded_backups(std::int64_t n) { return context->load_request(n).backups.size(); }

    static PgCluster* cluster_;
    static int databases_;
    std::string database;
    std::string target;  // the database's conninfo for datafix_login
    std::unique_ptr<run::Backups> backups;
    model::IssuedToken nobody;
};

PgCluster* BackupRoutes::cluster_ = nullptr;
int BackupRoutes::databases_ = 0;

bool contains(const json& body, const std::string& key, const std::string& text) {
    return body.value(key, "").find(text) != std::string::npos;
}

// A job as `datafix backup` and the request page read it.
void expect_job_shape(const json& j) {
    ASSERT_TRUE(j.is_object()) << j.dump();
    EXPECT_TRUE(j["job"].is_number_integer()) << j.dump();
    EXPECT_TRUE(j["environment"].is_string());
    EXPECT_TRUE(j["state"].is_string());
    ASSERT_TRUE(j["requested_by"].is_object()) << j.dump();
    EXPECT_TRUE(j["requested_by"]["id"].is_number_integer());
    EXPECT_TRUE(j["requested_by"]["name"].is_string());
    EXPECT_TRUE(j["attempts"].is_number_integer());
    EXPECT_TRUE(j["started_at"].is_string());
    EXPECT_TRUE(j["finished_at"].is_string() || j["finished_at"].is_null());
    EXPECT_TRUE(j["backup"].is_number_integer() || j["backup"].is_null());
    EXPECT_TRUE(j["failure"].is_object() || j["failure"].is_null());
}

TEST_F(BackupRoutes, TheDriverStartsAJob202AndItsVerifiedResultIsListedForEveryReader) {
    const std::int64_t n = request_for_backup();
    Answer started = call("POST", backup_path(n, "prod"), dev.token);
    ASSERT_EQ(started.status, 202) << started.body.dump();
    expect_job_shape(started.body);
    EXPECT_EQ(started.body["job"], 1);
    EXPECT_EQ(started.body["environment"], "prod");
    EXPECT_EQ(started.body["state"], "running");
    EXPECT_EQ(started.body["attempts"], 1);
    EXPECT_EQ(started.body["requested_by"]["id"], dev.person.id);
    EXPECT_EQ(started.body["requested_by"]["name"], "Dana Dev");
    EXPECT_TRUE(started.body["finished_at"].is_null());
    EXPECT_TRUE(started.body["backup"].is_null());
    EXPECT_TRUE(started.body["failure"].is_null());
    EXPECT_FALSE(started.body.contains("result")) << "nothing is taken yet";

    json job = ended_job(n, "prod", 1);
    expect_job_shape(job);
    ASSERT_EQ(job["state"], "succeeded") << job.dump();
    EXPECT_TRUE(job["failure"].is_null());
    EXPECT_TRUE(job["finished_at"].is_string());
    const json& result = job["result"];
    ASSERT_TRUE(result.is_object()) << job.dump();
    EXPECT_EQ(result["number"], job["backup"]);
    EXPECT_EQ(result["environment"], "prod");
    EXPECT_EQ(result["method"], "pg_dump");
    EXPECT_EQ(result["verified"], true);
    EXPECT_TRUE(result["taken_at"].is_string());
    EXPECT_GT(result["size_bytes"].get<std::int64_t>(), 0);
    EXPECT_EQ(result["exit_status"], 0);
    EXPECT_TRUE(result["server_version"].get<std::string>().starts_with("15")) << result.dump();
    EXPECT_TRUE(result["elapsed_ms"].is_number_integer());
    // The write closure: the table the change names and the audit table its trigger writes.
    EXPECT_EQ(result["tables"], json::array({"app_public.app_user", "app_public.record_version"}));
    // The archive is private to the server's user, and its SHA-256 is what the ledger holds.
    const std::string location = result["location"];
    struct stat st {};
    ASSERT_EQ(::stat(location.c_str(), &st), 0) << location;
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    std::ifstream in(location, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(sha256_hex(bytes), result["sha256"]);
    const model::RequestState state = context->load_request(n);
    ASSERT_EQ(state.backups.size(), 1u);
    EXPECT_EQ(state.backups[0].sha256, result["sha256"]);
    EXPECT_TRUE(state.backups[0].verified);

    // The request's product owner and a read-only token read the jobs as the driver does.
    for (const std::string* token : {&po.token, &reader.token, &dev.token}) {
        Answer listed = call("GET", backup_path(n, "prod"), *token);
        ASSERT_EQ(listed.status, 200) << listed.body.dump();
        EXPECT_EQ(listed.body["environment"], "prod");
        ASSERT_EQ(listed.body["jobs"].size(), 1u) << listed.body.dump();
        EXPECT_EQ(listed.body["jobs"][0], job);
    }
    // Another environment's list is its own.
    Answer test_jobs = call("GET", backup_path(n, "test"), dev.token);
    ASSERT_EQ(test_jobs.status, 200);
    EXPECT_EQ(test_jobs.body, json({{"environment", "test"}, {"jobs", json::array()}}));
}

TEST_F(BackupRoutes, OnlyTheDriverStartsOrCancelsAndARefusalChangesNothing) {
    const std::int64_t n = request_for_backup();
    const std::string path = backup_path(n, "prod");
    expect_error(call("POST", path, ""), 401, "unauthenticated", "token-required");
    expect_error(call("POST", path, reader.token), 403, "forbidden", "token-read-only");
    expect_error(call("POST", path, nobody.token), 403, "forbidden", "no-role");
    expect_error(call("GET", path, nobody.token), 403, "forbidden", "no-role");
    for (const std::string* token : {&other.token, &po.token}) {
        Answer refused = call("POST", path, *token);
        expect_error(refused, 409, "rule", "driver-required");
        EXPECT_TRUE(
            contains(refused.body, "message", "only the driver of request " + std::to_string(n)))
            << refused.body.dump();
        EXPECT_TRUE(contains(refused.body, "hint", "datafix claim " + std::to_string(n)));
        expect_error(call("POST", path + "/cancel", *token), 409, "rule", "driver-required");
    }
    EXPECT_EQ(ledger_jobs(n), 0u);
    EXPECT_TRUE(call("GET", path, dev.token).body["jobs"].empty());

    // Nobody drives it yet; driven, but with no change attached.
    const std::int64_t unclaimed = request_for_backup(false, false);
    expect_error(call("POST", backup_path(unclaimed, "prod"), dev.token), 409, "rule",
                 "driver-required");
    const std::int64_t bare = request_for_backup(true, false);
    Answer no_change = call("POST", backup_path(bare, "prod"), dev.token);
    expect_error(no_change, 409, "rule", "revision-required");
    EXPECT_TRUE(contains(no_change.body, "hint", "datafix change " + std::to_string(bare)));
    EXPECT_EQ(ledger_jobs(unclaimed) + ledger_jobs(bare), 0u);
    EXPECT_TRUE(std::filesystem::is_empty(dir / "backups"));
    EXPECT_EQ(recorded_backups(n) + recorded_backups(bare), 0u);
}

TEST_F(BackupRoutes, ABadEnvironmentRequestOrBodyIsNamedAndNothingStarts) {
    const std::int64_t n = request_for_backup();
    Answer unknown = call("POST", backup_path(n, "qa"), dev.token);
    expect_error(unknown, 404, "not_found", "environment-unknown");
    EXPECT_TRUE(contains(unknown.body, "message", "'qa'")) << unknown.body.dump();
    EXPECT_TRUE(contains(unknown.body, "hint", "dev, test, prod")) << unknown.body.dump();

    Answer unconfigured = call("POST", backup_path(n, "dev"), dev.token);
    expect_error(unconfigured, 500, "config", "backup-not-configured");
    EXPECT_TRUE(contains(unconfigured.body, "message", "dev has no backup method configured"));
    EXPECT_TRUE(contains(unconfigured.body, "hint", "[environment.backup]"));

    Answer no_request = call("POST", backup_path(99, "prod"), dev.token);
    expect_error(no_request, 404, "not_found", "request-not-found");
    EXPECT_TRUE(contains(no_request.body, "message", "99"));
    expect_error(call("GET", backup_path(99, "prod"), dev.token), 404, "not_found",
                 "request-not-found");

    Answer malformed = call("POST", backup_path(n, "prod"), dev.token, "{not json");
    expect_error(malformed, 400, "invalid_input", "malformed-json");

    EXPECT_EQ(ledger_jobs(n), 0u);
    EXPECT_TRUE(std::filesystem::is_empty(dir / "backups"));
    EXPECT_EQ(recorded_backups(n), 0u);
}

TEST_F(BackupRoutes, OneJobPerEnvironmentAtATimeAndACancelledJobRecordsNothing) {
    const std::int64_t n = request_for_backup();
    const std::string path = backup_path(n, "test");
    Answer first = call("POST", path, dev.token);
    ASSERT_EQ(first.status, 202) << first.body.dump();
    EXPECT_EQ(first.body["job"], 1);
    Answer listed = call("GET", path, po.token);
    ASSERT_EQ(listed.body["jobs"].size(), 1u) << listed.body.dump();
    EXPECT_EQ(listed.body["jobs"][0]["state"], "running");

    Answer twice = call("POST", path, dev.token);
    expect_error(twice, 409, "rule", "backup-running");
    EXPECT_TRUE(
        contains(twice.body, "message",
                 "backup job 1 of test is already running for request " + std::to_string(n)))
        << twice.body.dump();
    EXPECT_TRUE(contains(twice.body, "hint", "--follow"));
    EXPECT_EQ(ledger_jobs(n), 1u) << "a refused start adds no job";
    // Another environment is another job.
    Answer prod = call("POST", backup_path(n, "prod"), dev.token);
    ASSERT_EQ(prod.status, 202) << prod.body.dump();
    EXPECT_EQ(prod.body["job"], 2);
    EXPECT_EQ(ended_job(n, "prod", 2)["state"], "succeeded");

    Answer cancel = call("POST", path + "/cancel", dev.token);
    ASSERT_EQ(cancel.status, 200) << cancel.body.dump();
    EXPECT_EQ(cancel.body, json({{"environment", "test"}, {"job", 1}, {"cancelling", true}}));
    json cancelled = ended_job(n, "test", 1);
    EXPECT_EQ(cancelled["state"], "cancelled") << cancelled.dump();
    EXPECT_EQ(cancelled["failure"]["code"], "rule") << cancelled.dump();
    EXPECT_TRUE(cancelled["backup"].is_null());
    EXPECT_FALSE(cancelled.contains("result"));
    const model::RequestState state = context->load_request(n);
    ASSERT_EQ(state.backups.size(), 1u) << "only prod's backup is recorded";
    EXPECT_EQ(state.backups[0].environment, "prod");

    Answer nothing = call("POST", path + "/cancel", dev.token);
    expect_error(nothing, 404, "not_found", "no-backup-running");
    EXPECT_TRUE(contains(nothing.body, "message",
                         "no backup of test is running for request " + std::to_string(n)))
        << nothing.body.dump();
    EXPECT_TRUE(contains(nothing.body, "hint", "--follow"));
}

}  // namespace
}  // namespace datafix::server
