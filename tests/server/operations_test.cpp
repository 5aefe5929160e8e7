// What the platform asks a running server: /readyz (the ledger answers and its schema is this
// binary's), /metrics (Prometheus text: requests by status, runs by kind and outcome, the
// notification backlog, HTTP latency), JSON log lines, and `datafix server --check-config`
// against real clusters — each with its failure: a ledger that went away or was migrated past
// this binary, an environment pinned to another cluster, a role the login cannot become, a
// cluster client that is missing.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>
#include <regex>

#include "core/error.hpp"
#include "e2e/runbook_steps.hpp"
#include "ledger/migrations.hpp"
#include "server/config.hpp"

namespace datafix::server {
namespace {

using e2e::ServerFixture;
using e2e::ServerOptions;

std::string raw_get(const ServerFixture& s, const std::string& path, int* status = nullptr) {
    httplib::Client client(s.url());
    auto res = client.Get(path.c_str());
    if (!res) {
        return "";
    }
    if (status != nullptr) {
        *status = res->status;
    }
    return res->body;
}

// The value of one sample line of the exposition ("name{labels} value"); -1 when absent.
double sample(const std::string& exposition, const std::string& series) {
    std::istringstream lines(exposition);
    for (std::string line; std::getline(lines, line);) {
        if (line.starts_with(series + " ")) {
            return std::stod(line.substr(series.size() + 1));
        }
    }
    return -1;
}

TEST(Operations, ReadyzSaysReadyWhileTheLedgerIsCurrentAndNotWhenANewerServerMigratedIt) {
    ServerFixture s;
    e2e::Answer ready = s.get("", "/readyz");
    ASSERT_EQ(ready.status, 200) << ready.body.dump();
    EXPECT_EQ(ready.body["status"], "ready");
    EXPECT_EQ(ready.body["migrations"], "current");
    EXPECT_EQ(ready.body["schema_version"], ledger::latest_schema_version());

    // A newer release rolled out next to this one and migrated the shared ledger.
    auto bumped =
        testing::run_process({"/usr/bin/sqlite3", s.dir() + "/datafix.db",
                              "INSERT INTO schema_version (version, applied_at) VALUES (" +
                                  std::to_string(ledger::latest_schema_version() + 1) + ", 0)"});
    ASSERT_EQ(bumped.status, 0) << bumped.err;
    e2e::Answer stale = s.get("", "/readyz");
    EXPECT_EQ(stale.status, 503) << stale.body.dump();
    EXPECT_EQ(stale.body["status"], "not-ready");
    EXPECT_EQ(stale.body["migrations"], "ledger-newer");
    EXPECT_EQ(stale.body["schema_version"], ledger::latest_schema_version() + 1);
    // Alive all the same: the platform takes it out of the Service, it does not restart it.
    EXPECT_EQ(s.get("", "/healthz").status, 200);
    EXPECT_NE(s.server_log().find("not ready: the ledger's schema is version"), std::string::npos);
}

TEST(Operations, ReadyzFollowsAPostgresLedgerThatGoesAwayAndComesBack) {
    auto ledger = testing::PgCluster::create("opsledger");
    ServerOptions options;
    options.server_settings = "ledger = \"postgresql:host=" + ledger->socket_dir() +
                              " port=" + std::to_string(ledger->port()) +
                              " dbname=postgres user=dfsuper\"\n";
    ServerFixture s(options);
    ASSERT_EQ(s.get("", "/readyz").status, 200);
    e2e::Team team = e2e::make_team(s);
    e2e::file_request(s, team);
    int status = 0;
    std::string text = raw_get(s, "/metrics", &status);
    ASSERT_EQ(status, 200);
    EXPECT_EQ(sample(text, "datafix_requests{status=\"open\"}"), 1) << text;

    ledger->stop();
    e2e::Answer down = s.get("", "/readyz");
    EXPECT_EQ(down.status, 503) << down.body.dump();
    EXPECT_EQ(down.body["ledger"], "unreachable");
    // Nothing about where the ledger lives leaves in the answer; the log says what failed.
    EXPECT_EQ(down.body.dump().find(ledger->socket_dir()), std::string::npos);
    EXPECT_NE(s.server_log().find("not ready: the ledger did not answer"), std::string::npos);
    EXPECT_EQ(s.get("", "/healthz").status, 200);
    raw_get(s, "/metrics", &status);
    EXPECT_EQ(status, 503);

    ledger->start();
    EXPECT_EQ(s.get("", "/readyz").status, 200);
}

TEST(Operations, MetricsCountRequestsRunsTheBacklogAndLatency) {
    ServerOptions options;
    // Mail to a port nobody listens on: every message stays in the outbox.
    options.sections =
        "\n[notify]\nbase_url = \"https://datafix.example.com\"\n"
        "[notify.channels.mail]\nkind = \"email\"\nurl = \"smtp://127.0.0.1:9\"\n"
        "starttls = \"none\"\nfrom = \"datafix@example.com\"\ntimeout = \"2s\"\n";
    ServerFixture s(options);
    std::string before = raw_get(s, "/metrics");
    EXPECT_EQ(sample(before, "datafix_requests{status=\"open\"}"), 0) << before;
    EXPECT_EQ(sample(before, "datafix_runs{kind=\"apply\",outcome=\"succeeded\"}"), 0);

    e2e::Team team = e2e::make_team(s);
    long long n = e2e::file_request(s, team);
    e2e::prepare(s, team, n);
    e2e::promote(s, team, n, "dev");
    e2e::Answer broken = s.post(team.dana, e2e::env_path(n, "nowhere", "preview"), {});
    EXPECT_EQ(broken.status, 404);

    int status = 0;
    std::string text = raw_get(s, "/metrics", &status);
    ASSERT_EQ(status, 200);
    EXPECT_EQ(sample(text, "datafix_requests{status=\"open\"}"), 1) << text;
    EXPECT_EQ(sample(text, "datafix_requests{status=\"done\"}"), 0);
    EXPECT_EQ(sample(text, "datafix_runs{kind=\"preview\",outcome=\"succeeded\"}"), 1);
    EXPECT_EQ(sample(text, "datafix_runs{kind=\"apply\",outcome=\"succeeded\"}"), 1);
    EXPECT_EQ(sample(text, "datafix_runs{kind=\"apply\",outcome=\"in_doubt\"}"), 0);
    EXPECT_GE(sample(text, "datafix_notifications_undelivered"), 1);
    EXPECT_GE(sample(text, "datafix_notifications_oldest_undelivered_seconds"), 0);
    EXPECT_GE(sample(text, "datafix_http_requests_total{method=\"POST\",code=\"201\"}"), 4);
    EXPECT_EQ(sample(text, "datafix_http_requests_total{method=\"POST\",code=\"404\"}"), 1);
    // The histogram is cumulative and ends in +Inf = _count.
    double count = sample(text, "datafix_http_request_duration_seconds_count{method=\"POST\"}");
    EXPECT_GE(count, 8);
    EXPECT_EQ(
        sample(text, "datafix_http_request_duration_seconds_bucket{method=\"POST\",le=\"+Inf\"}"),
        count);
    EXPECT_LE(
        sample(text, "datafix_http_request_duration_seconds_bucket{method=\"POST\",le=\"0.001\"}"),
        sample(text, "datafix_http_request_duration_seconds_bucket{method=\"POST\",le=\"1\"}"));
    // Every line is a comment or a sample: what a Prometheus scraper parses.
    std::regex line_format(R"((# (HELP|TYPE) .*)|([a-z_]+(\{[^}]*\})? [0-9.e+-]+))");
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        EXPECT_TRUE(std::regex_match(line, line_format)) << line;
    }
    // Counts only: the request's title and the change's text stay out.
    EXPECT_EQ(text.find("family name"), std::string::npos);
    EXPECT_EQ(text.find("Renamed"), std::string::npos);
}

TEST(Operations, JsonLogsAreOneObjectPerLine) {
    ServerOptions options;
    options.server_settings = "log_format = \"json\"\n";
    ServerFixture s(options);
    e2e::Team team = e2e::make_team(s);
    e2e::file_request(s, team);
    s.stop();
    std::istringstream lines(s.server_log());
    int parsed = 0;
    bool listening = false;
    for (std::string line; std::getline(lines, line);) {
        auto entry = nlohmann::json::parse(line, nullptr, false);
        ASSERT_FALSE(entry.is_discarded()) << line;
        EXPECT_TRUE(std::regex_match(entry.value("time", ""),
                                     std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
            << line;
        EXPECT_FALSE(entry.value("level", "").empty()) << line;
        std::string message = entry.value("message", "");
        if (message.starts_with("datafix ") && message.find("listening on") != std::string::npos) {
            listening = true;
        }
        ++parsed;
    }
    EXPECT_GE(parsed, 3);
    EXPECT_TRUE(listening) << s.server_log();
}

TEST(Operations, AnUnknownLogFormatIsRefusedNamingTheKey) {
    try {
        Config::parse(
            "[server]\nlog_format = \"xml\"\n[[environment]]\nname = \"dev\"\nconninfo = "
            "\"dbname=app\"\nrole = \"app_owner\"\nsystem_identifier = \"1\"\napprovals = "
            "[\"pair\"]\n",
            "datafix.toml", "/etc/datafix");
        ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::config);
        EXPECT_NE(e.message().find("server.log_format: must be \"text\" or \"json\""),
                  std::string::npos)
            << e.message();
    }
}

TEST(Operations, ConfigErrorsNameTheEnvironmentByName) {
    try {
        Config::parse(
            "[[environment]]\nname = \"dev\"\nconninfo = \"dbname=app\"\nrole = \"app_owner\"\n"
            "system_identifier = \"1\"\napprovals = [\"pair\"]\n"
            "[[environment]]\nname = \"prod\"\nconninfo = \"dbname=app\"\n"
            "system_identifier = \"2\"\napprovals = [\"pair\"]\n",
            "datafix.toml", "/etc/datafix");
        ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
        EXPECT_NE(e.message().find("datafix.toml: environment \"prod\".role: is required"),
                  std::string::npos)
            << e.message();
    }
}

testing::ProcessResult check_config(const std::string& config, bool json = false) {
    std::vector<std::string> argv = {DATAFIX_BINARY, "server", "--config", config,
                                     "--check-config"};
    if (json) {
        argv.insert(argv.end(), {"--output", "json"});
    }
    return testing::run_process(argv);
}

TEST(Operations, CheckConfigPassesEveryEnvironmentOfAGoodConfiguration) {
    ServerFixture s;
    auto run = check_config(s.dir() + "/datafix.toml");
    EXPECT_EQ(run.status, 0) << run.out << run.err;
    for (const char* env : {"server", "dev", "test", "prod"}) {
        EXPECT_NE(run.out.find(std::string(env) + ": ok\n"), std::string::npos) << run.out;
    }
    EXPECT_NE(run.out.find("pin: ok (system identifier " +
                           e2e::fixture_detail::cluster("prod").system_identifier() + ")"),
              std::string::npos)
        << run.out;
    EXPECT_NE(run.out.find("role: ok (login datafix_login set role app_owner)"), std::string::npos)
        << run.out;
}

TEST(Operations, CheckConfigReportsEachFailingEnvironmentByNameAndChangesNothing) {
    ServerOptions options;
    // test is pinned to dev's cluster; prod's role is one the login was never granted; a fourth
    // environment is found through a cluster client that is not installed.
    options.environments["test"] = [](const std::string& database) {
        auto& dev = e2e::fixture_detail::cluster("dev");
        auto& test = e2e::fixture_detail::cluster("test");
        return "conninfo = \"" + test.conninfo(database, "datafix_login") +
               "\"\nrole = \"app_owner\"\nsystem_identifier = \"" + dev.system_identifier() +
               "\"\napprovals = [\"pair\"]\n";
    };
    options.environments["prod"] = [](const std::string& database) {
        auto& prod = e2e::fixture_detail::cluster("prod");
        return "conninfo = \"" + prod.conninfo(database, "datafix_login") +
               "\"\nrole = \"app_web\"\nsystem_identifier = \"" + prod.system_identifier() +
               "\"\napprovals = [\"pair\"]\n";
    };
    options.sections =
        "\n[[environment]]\nname = \"staging\"\nconninfo = \"dbname=app user=datafix\"\n"
        "role = \"app_owner\"\nsystem_identifier = \"7301234567890123456\"\n"
        "approvals = [\"pair\"]\n[environment.openshift]\nnamespace = \"app-staging\"\n"
        "cluster = \"app-db\"\nclient = \"/nonexistent/oc\"\n";
    ServerFixture s(options);
    s.stop();
    struct stat before {};
    ASSERT_EQ(::stat((s.dir() + "/datafix.db").c_str(), &before), 0);
    std::string audit_before = s.psql("test", "SELECT count(*) FROM app_public.record_version");

    auto run = check_config(s.dir() + "/datafix.toml");
    EXPECT_EQ(run.status, exit_status(ErrorCode::target_refused)) << run.out << run.err;
    EXPECT_NE(run.out.find("dev: ok\n"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("test: FAILED\n"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("  pin: failed (test: wrong cluster"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("  role: skipped"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("prod: FAILED\n"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("  role: failed (prod: login datafix_login cannot become role app_web)"),
              std::string::npos)
        << run.out;
    EXPECT_NE(run.out.find("    HINT: GRANT app_web TO datafix_login;"), std::string::npos)
        << run.out;
    EXPECT_NE(run.out.find("staging: FAILED\n  api: failed"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("  login: skipped"), std::string::npos) << run.out;

    auto json = check_config(s.dir() + "/datafix.toml", true);
    auto report = nlohmann::json::parse(json.out);
    EXPECT_FALSE(report["ok"].get<bool>());
    ASSERT_EQ(report["sections"].size(), 5u);
    EXPECT_EQ(report["sections"][2]["name"], "test");
    EXPECT_EQ(report["sections"][2]["checks"][2]["code"], "target_refused");

    // Nothing changed: the ledger file as it was, the target's rows as they were.
    struct stat after {};
    ASSERT_EQ(::stat((s.dir() + "/datafix.db").c_str(), &after), 0);
    EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
    EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
    EXPECT_EQ(s.psql("test", "SELECT count(*) FROM app_public.record_version"), audit_before);
}

TEST(Operations, CheckConfigCreatesNeitherLedgerNorKey) {
    char tmpl[] = "/tmp/datafix-check-XXXXXX";
    std::string dir = ::mkdtemp(tmpl);
    std::ofstream(dir + "/datafix.toml")
        << "[[environment]]\nname = \"dev\"\nconninfo = \"host=/nonexistent dbname=app\"\n"
           "role = \"app_owner\"\nsystem_identifier = \"1\"\napprovals = [\"pair\"]\n";
    auto run = check_config(dir + "/datafix.toml");
    EXPECT_NE(run.status, 0);
    EXPECT_NE(run.out.find("server: FAILED\n  key_file: failed"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("dev: FAILED\n  login: failed"), std::string::npos) << run.out;
    EXPECT_FALSE(std::filesystem::exists(dir + "/datafix.key"));
    EXPECT_FALSE(std::filesystem::exists(dir + "/datafix.db"));
    EXPECT_FALSE(std::filesystem::exists(dir + "/data"));
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace datafix::server
