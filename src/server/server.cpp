// The server's lifetime: logger, key, ledger, routes, the listening socket, and a clean stop.
#include "server/server.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <thread>

#include "core/version.hpp"
#include "run/backups.hpp"
#include "run/executor.hpp"
#include "run/run_leases.hpp"
#include "server/api_error.hpp"
#include "server/context.hpp"
#include "server/http_server.hpp"
#include "server/logging.hpp"
#include "server/metrics.hpp"
#include "server/notifications.hpp"
#include "server/routes.hpp"

namespace datafix::server {

namespace {

// Set by the signal handler (which may do nothing else safely); serve() watches it and stops the
// server after ending the live streams.
volatile std::sig_atomic_t stop_requested = 0;

extern "C" void stop_on_signal(int) {
    stop_requested = 1;
}

void add_plain_routes(Router& http) {
    // Answered on the event thread: a health check never waits behind busy workers.
    http.Get(
        "/healthz",
        [](const Request&, Response& res) {
            send_json(res, {{"status", "ok"}, {"version", datafix::version()}});
        },
        Dispatch::immediate);
}

// Every connection is a descriptor: the limit the process starts with (often 1,024) would refuse
// connections long before [server] max_connections.
void raise_descriptor_limit(const ServerSettings& settings, spdlog::logger& log) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
        return;
    }
    rlim_t wanted = static_cast<rlim_t>(settings.max_connections) + 256;
    if (limit.rlim_cur >= wanted) {
        return;
    }
    limit.rlim_cur = std::min(wanted, limit.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_cur < wanted) {
        log.warn("only {} file descriptors are allowed; [server] max_connections = {} needs {}",
                 limit.rlim_cur, settings.max_connections, wanted);
    }
}

// A lookup into `people`, which must outlive it.
notify::PersonLookup lookup_in(const People& people) {
    return [&people](model::UserId id) {
        auto it = people.find(id);
        return it == people.end() ? std::nullopt : std::optional<model::Person>(it->second);
    };
}

}  // namespace

int serve(const Config& config) {
    auto log = make_server_logger(config.server);
    Key key = Key::load_file(config.server.key_file);
    std::filesystem::create_directories(config.server.data_dir);
    std::filesystem::permissions(config.server.data_dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace);
    auto ledger = open_ledger(config, key, *log);
    Context context(config, key, std::move(ledger), log);
    const run::ServerIdentity identity =
        run::server_identity(config.server.instance, config.server.data_dir);
    // After the context (whose ledger the outbox writes to), so it stops before the ledger closes.
    // Claimed outbox rows carry this server's instance and incarnation, vouched for by the
    // heartbeat that renews its run leases.
    ledger::Ledger* outbox_ledger = context.with_ledger([](ledger::Ledger& l) { return &l; });
    Notifications notifications(
        config.notify, config.notify_delivery, *outbox_ledger, config.workflow(), log,
        notify::OutboxOwner{identity.instance, identity.incarnation, config.server.run_lease});
    // After the notifications, so its heartbeat (which settles runs, queueing their messages, and
    // reclaims messages) stops before they go.
    run::Executor executor(context, identity, config.server.run_lease);
    run::Backups backups(context, identity.instance);
    // A step's (and a new request's) messages are written in its own ledger transaction: a
    // committed step always has them queued, a step that did not commit has none.
    context.set_step_messages([&notifications](const workflow::Action* action,
                                               const workflow::Decision& decision,
                                               const People& people) {
        return notifications.step_messages(action, decision, lookup_in(people));
    });
    context.set_step_observer([&notifications](const workflow::Action*, const workflow::Decision&) {
        notifications.wake();
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
    // Likewise the messages an earlier life of this server claimed but never marked: sent now,
    // not when their delivery lease ends. Then after every heartbeat, for any server gone.
    notifications.reclaim();
    executor.keep_leases([&notifications] { notifications.reclaim(); });
    // After the partial files are gone: a backup an earlier life left running starts afresh.
    if (int resumed = backups.resume(); resumed > 0) {
        log->info("took up {} backup jobs left running", resumed);
    }

    Router router;
    Metrics metrics;
    router.set_observer([&metrics](const Request& req, const Response& res,
                                   std::chrono::steady_clock::duration took) {
        metrics.observe_http(req.method, res.status, took);
    });
    add_plain_routes(router);
    add_operation_routes(router, context, metrics);
    add_web_routes(router);
    add_auth_routes(router, context);
    add_user_routes(router, context);
    add_request_routes(router, context);
    add_inbox_routes(router, context);
    add_run_routes(router, context, executor);
    add_evidence_routes(router, context);
    add_conversation_routes(router, context);
    add_audit_routes(router, context);
    add_event_routes(router, context);
    add_preflight_routes(router, context);
    add_backup_routes(router, context, backups);

    raise_descriptor_limit(config.server, *log);
    HttpServer http(router, config.server, *log);
    int port = http.start();
    std::signal(SIGINT, stop_on_signal);
    std::signal(SIGTERM, stop_on_signal);
    log->info("datafix {} listening on http://{}:{} ({} environments)", datafix::version(),
              config.server.listen, port, config.environments.size());
    // Printed on stdout so scripts (and tests) can read the port when it was chosen freely.
    std::printf("listening on http://%s:%d\n", config.server.listen.c_str(), port);
    std::fflush(stdout);
    while (stop_requested == 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    // Streams end first, so their watchers hear the end rather than a cut connection.
    context.events().close_all();
    http.stop();
    log->info("datafix server stopped");
    spdlog::drop("datafix");
    return 0;
}

}  // namespace datafix::server
