// The API's routes answered in-process (server/api_error.hpp's answer(), what the HTTP server does
// once it has read a request): a real SQLite ledger in a temporary directory, the real workflow,
// no socket. Five people (an admin, two developers, a product owner and a developer with a
// read-only token); a test fixture may give its own datafix.toml (config_text()), prepare what it
// names before it is read (prepare()), add routes of its own (add_routes()) and stop what they
// started before the context goes (stop()), and call a route with any headers (a session cookie,
// a CSRF token, an Origin). Shared by the route tests.
#pragma once

#include <gtest/gtest.h>

#include <spdlog/logger.h>
#include <spdlog/sinks/null_sink.h>

#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "core/crypto.hpp"
#include "ledger/ledger.hpp"
#include "run/executor.hpp"
#include "run/run_leases.hpp"
#include "server/api_error.hpp"
#include "server/config.hpp"
#include "server/context.hpp"
#include "server/metrics.hpp"
#include "server/routes.hpp"

namespace datafix::server::in_process {

inline const char* kDevOnlyConfig =
    "[server]\n"
    "[[environment]]\nname = \"dev\"\nconninfo = \"dbname=app\"\nrole = \"app_owner\"\n"
    "system_identifier = \"7301234567890123458\"\napprovals = [\"pair\"]\n";

struct Answer {
    int status = 0;
    nlohmann::json body;  // discarded when the body is not JSON
    std::string content_type;
    Headers headers;
    std::shared_ptr<BodyStream> stream;  // a streamed answer (server-sent events)

    std::string header(const std::string& name) const {
        auto it = headers.find(name);
        return it == headers.end() ? std::string() : it->second;
    }
};

class InProcessApi : public ::testing::Test {
  protected:
    // The server's datafix.toml; `dir` is its directory.
    virtual std::string config_text() const { return kDevOnlyConfig; }
    // Before the configuration is read: what it names (a database, directories under `dir`).
    virtual void prepare() {}
    // After the standard routes: a fixture's own (with what they need from `context`).
    virtual void add_routes() {}
    // Before the context goes: whatever add_routes() started.
    virtual void stop() {}

    void SetUp() override {
        std::random_device rd;
        dir = std::filesystem::temp_directory_path() / ("datafix-routes-" + std::to_string(rd()));
        std::filesystem::create_directories(dir);
        prepare();
        Key key = Key::generate();
        auto ledger = ledger::Ledger::open((dir / "ledger.db").string(), key);
        const auto now = model::wall_clock_now();
        model::AuditEvent event;
        event.at = now;
        admin = ledger->create_user({"Ada Admin", "ada@example.com", model::Role::admin}, event);
        dev = ledger->create_user({"Dana Dev", "dana@example.com", model::Role::developer}, event);
        other =
            ledger->create_user({"Omar Dev", "omar@example.com", model::Role::developer}, event);
        po = ledger->create_user({"Pat Owner", "pat@example.com", model::Role::product_owner},
                                 event);
        reader = ledger->create_user({"Rae Reader", "rae@example.com", model::Role::developer},
                                     event, {model::TokenScope::read, std::chrono::days(1)});
        auto log = std::make_shared<spdlog::logger>(
            "routes-test", std::make_shared<spdlog::sinks::null_sink_mt>());
        const Config config = Config::parse(config_text(), "datafix.toml", dir.string());
        context = std::make_unique<Context>(config, key, std::move(ledger), log);
        executor = std::make_unique<run::Executor>(
            *context, run::server_identity(config.server.instance, config.server.data_dir),
            config.server.run_lease);
        add_auth_routes(router, *context);
        add_user_routes(router, *context);
        add_request_routes(router, *context);
        add_inbox_routes(router, *context);
        add_conversation_routes(router, *context);
        add_audit_routes(router, *context);
        add_run_routes(router, *context, *executor);
        add_evidence_routes(router, *context);
        add_event_routes(router, *context);
        add_preflight_routes(router, *context);
        add_operation_routes(router, *context, metrics);
        add_routes();
    }
    void TearDown() override {
        stop();
        executor.reset();
        context.reset();
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
    }

    Answer call(const std::string& method, const std::string& target, const std::string& token,
                const std::string& body = "", const Headers& headers = {}) {
        Request req;
        req.method = method;
        const auto query = target.find('?');
        req.path = target.substr(0, query);
        if (query != std::string::npos) {
            std::string rest = target.substr(query + 1);
            while (!rest.empty()) {
                const auto amp = rest.find('&');
                const std::string pair = rest.substr(0, amp);
                const auto eq = pair.find('=');
                req.params.emplace(pair.substr(0, eq),
                                   eq == std::string::npos ? "" : pair.substr(eq + 1));
                rest = amp == std::string::npos ? "" : rest.substr(amp + 1);
            }
        }
        if (!token.empty()) {
            req.headers.emplace("Authorization", "Bearer " + token);
        }
        req.headers.insert(headers.begin(), headers.end());
        req.body = body;
        req.remote_addr = "127.0.0.1";
        Response res;
        answer(router, req, res, context->log());
        Answer a;
        a.status = res.status;
        a.headers = res.headers;
        a.content_type = a.header("Content-Type");
        a.body = nlohmann::json::parse(res.body, nullptr, false);
        a.stream = res.stream;
        return a;
    }

    // A new request filed by the product owner; its number.
    std::int64_t file_request(const std::string& title = "fix an intake name") {
        Answer a = call("POST", "/api/requests", po.token,
                        nlohmann::json{{"title", title}, {"reason", "asked by email"}}.dump());
        EXPECT_EQ(a.status, 201) << a.body.dump();
        return a.body.value("number", std::int64_t{0});
    }

    std::size_t request_count() {
        return call("GET", "/api/requests", admin.token).body["requests"].size();
    }

    std::filesystem::path dir;
    std::unique_ptr<Context> context;
    std::unique_ptr<run::Executor> executor;
    Metrics metrics;
    Router router;
    model::IssuedToken admin, dev, other, po, reader;
};

// An error answer as every client reads it: the status, {error, rule, message, hint} as strings.
inline void expect_error(const Answer& a, int status, const std::string& error,
                         const std::string& rule) {
    EXPECT_EQ(a.status, status) << a.body.dump();
    ASSERT_TRUE(a.body.is_object()) << "the error body is not JSON";
    EXPECT_EQ(a.body.value("error", ""), error) << a.body.dump();
    EXPECT_EQ(a.body.value("rule", ""), rule) << a.body.dump();
    ASSERT_TRUE(a.body.contains("message") && a.body["message"].is_string());
    EXPECT_FALSE(a.body["message"].get<std::string>().empty());
    ASSERT_TRUE(a.body.contains("hint") && a.body["hint"].is_string());
}

}  // namespace datafix::server::in_process
