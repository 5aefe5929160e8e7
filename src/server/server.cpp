// The server's lifetime: logger, key, ledger, routes, the listening socket, and a clean stop.
#include "server/server.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include "server/http.hpp"

#include <atomic>
#include <csignal>
#include <filesystem>
#include <thread>

#include "server/api_error.hpp"
#include "server/backups.hpp"
#include "server/context.hpp"
#include "server/executor.hpp"
#include "server/notifications.hpp"
#include "server/routes.hpp"

namespace datafix::server {

namespace {

// Set by the signal handler (which may do nothing else safely); a thread watches it and stops
// the server after ending the live streams, whose workers would otherwise keep it waiting.
volatile std::sig_atomic_t stop_requested = 0;

extern "C" void stop_on_signal(int) {
    stop_requested = 1;
}

std::shared_ptr<spdlog::logger> make_logger(const ServerSettings& settings) {
    std::shared_ptr<spdlog::logger> log;
    if (settings.log_file.empty()) {
        log = spdlog::stderr_color_mt("datafix");
    } else {
        log = spdlog::basic_logger_mt("datafix", settings.log_file);
    }
    log->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");
    log->flush_on(spdlog::level::info);
    return log;
}

void add_plain_routes(httplib::Server& http, Context& context) {
    http.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
        send_json(res, {{"status", "ok"}, {"version", DATAFIX_VERSION}});
    });
    http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) {
            return;
        }
        ErrorCode code = ErrorCode::not_found;
        std::string message = "no such route";
        if (res.status == 413) {
            code = ErrorCode::invalid_input;
            message = "the request body is too large";
        } else if (res.status == 400) {
            code = ErrorCode::invalid_input;
            message = "malformed request";
        } else if (res.status != 404) {
            code = ErrorCode::internal;
            message = "request failed";
        }
        send_error(res, Error(code, message, "see datafix --help for the API's clients"));
    });
}

// A lookup into `people`, which must outlive it.
notify::PersonLookup lookup_in(const People& people) {
    return [&people](ledger::UserId id) {
        auto it = people.find(id);
        return it == people.end() ? std::nullopt : std::optional<ledger::Person>(it->second);
    };
}

}  // namespace

int serve(const Config& config) {
    auto log = make_logger(config.server);
    Key key = Key::load_file(config.server.key_file);
    std::filesystem::create_directories(config.server.data_dir);
    std::filesystem::permissions(config.server.data_dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace);
    auto ledger = open_ledger(config, key, *log);
    Context context(config, key, std::move(ledger), log);
    Executor executor(context);
    Backups backups(context);
    // After the context (whose ledger the outbox writes to), so it stops before the ledger closes.
    ledger::Ledger* outbox_ledger = context.with_ledger([](ledger::Ledger& l) { return &l; });
    Notifications notifications(config.notify, config.notify_delivery, *outbox_ledger,
                                config.workflow(), log);
    // A step's messages are written in the step's own ledger transaction: a committed step
    // always has them queued, a step that did not commit has none.
    context.set_step_messages([&notifications](const workflow::Action& action,
                                               const workflow::Decision& decision,
                                               const People& people) {
        return notifications.step_messages(action, decision, lookup_in(people));
    });
    context.set_step_observer([&context, &notifications](const workflow::Action* action,
                                                         const workflow::Decision& decision) {
        if (action != nullptr) {
            notifications.wake();
            return;
        }
        People people = context.people();
        notifications.request_created(decision.state, lookup_in(people));
    });

    // A backup killed mid-way leaves its .partial file; nothing will ever finish it.
    for (const auto& env : config.environments) {
        if (env.backup) {
            for (const auto& name : backup::remove_partial_backups(*env.backup)) {
                log->info("removed {}, left by a backup that did not finish", name);
            }
        }
    }
    // Before anything listens (and with notifications wired): runs a stopped server left running
    // are settled first, so a retry meets a ledger that says what happened.
    if (int settled = executor.recover(); settled > 0) {
        log->info("recovery settled {} runs left running", settled);
    }
    executor.keep_leases();

    httplib::Server http;
    int threads = config.server.worker_threads;
    http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    // httplib refuses bodies beyond this with 413 before reading them; json_body() answers the
    // configured limit with 400 for bodies between the two.
    http.set_payload_max_length(config.server.max_body_bytes * 2);
    http.set_read_timeout(std::chrono::seconds(30));
    http.set_write_timeout(std::chrono::seconds(30));
    http.set_keep_alive_max_count(10000);
    // Without it, small JSON answers wait for the peer's delayed ACK (~40 ms each).
    http.set_tcp_nodelay(true);
    add_plain_routes(http, context);
    add_web_routes(http);
    add_user_routes(http, context);
    add_request_routes(http, context);
    add_run_routes(http, context, executor);
    add_evidence_routes(http, context);
    add_audit_routes(http, context);
    add_event_routes(http, context);
    add_preflight_routes(http, context);
    add_backup_routes(http, context, backups);

    ListenBacklog backlog(http);
    int port = config.server.port;
    if (port == 0) {
        port = http.bind_to_any_port(config.server.listen);
    } else if (!http.bind_to_port(config.server.listen, port)) {
        throw Error(ErrorCode::config,
                    "cannot listen on " + config.server.listen + ":" + std::to_string(port),
                    "another process may hold the port; change [server] port");
    }
    if (port < 0) {
        throw Error(ErrorCode::config, "cannot listen on " + config.server.listen);
    }
    backlog.apply();
    std::signal(SIGINT, stop_on_signal);
    std::signal(SIGTERM, stop_on_signal);
    log->info("datafix {} listening on http://{}:{} ({} environments)", DATAFIX_VERSION,
              config.server.listen, port, config.environments.size());
    // Printed on stdout so scripts (and tests) can read the port when it was chosen freely.
    std::printf("listening on http://%s:%d\n", config.server.listen.c_str(), port);
    std::fflush(stdout);
    std::atomic<bool> finished{false};
    std::thread stopper([&] {
        while (!finished && stop_requested == 0) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        context.events().close_all();
        http.stop();
    });
    http.listen_after_bind();
    finished = true;
    stopper.join();
    context.events().close_all();
    log->info("datafix server stopped");
    spdlog::drop("datafix");
    return 0;
}

}  // namespace datafix::server
