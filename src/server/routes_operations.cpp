// Routes for the platform rather than for people: /readyz, which a Kubernetes readiness probe
// asks before it sends traffic (the ledger answers, and its schema is the one this binary
// writes), and /metrics for Prometheus. No token: they carry counts and states only, and a
// failure's detail goes to the log, not into the answer.
#include <exception>

#include "core/error.hpp"
#include "ledger/migrations.hpp"
#include "server/api_error.hpp"
#include "server/context.hpp"
#include "server/metrics.hpp"
#include "server/routes.hpp"

namespace datafix::server {

namespace {

void readyz(Context& context, Response& res) {
    int latest = ledger::latest_schema_version();
    int version = 0;
    try {
        version = context.with_ledger([](ledger::Ledger& l) { return l.schema_version(); });
    } catch (const std::exception& e) {
        context.log().warn("not ready: the ledger did not answer: {}", e.what());
        send_json(res, {{"status", "not-ready"}, {"ledger", "unreachable"}}, 503);
        return;
    }
    nlohmann::json body = {
        {"ledger", "ok"}, {"schema_version", version}, {"server_schema_version", latest}};
    // Another server (a newer release during a rollout) migrated the ledger past this binary:
    // this one must take no more traffic, or it would write a schema it does not understand.
    if (version != latest) {
        context.log().warn("not ready: the ledger's schema is version {}, this server writes {}",
                           version, latest);
        body["status"] = "not-ready";
        body["migrations"] = version > latest ? "ledger-newer" : "pending";
        send_json(res, body, 503);
        return;
    }
    body["status"] = "ready";
    body["migrations"] = "current";
    send_json(res, body);
}

}  // namespace

void add_operation_routes(Router& http, Context& context, Metrics& metrics) {
    http.Get("/readyz", [&context](const Request&, Response& res) { readyz(context, res); });
    http.Get("/metrics", [&context, &metrics](const Request&, Response& res) {
        ledger::LedgerStatistics statistics;
        try {
            statistics = context.with_ledger(
                [](ledger::Ledger& l) { return l.statistics(model::wall_clock_now()); });
        } catch (const std::exception& e) {
            context.log().warn("metrics: the ledger did not answer: {}", e.what());
            res.status = 503;
            res.set_content("# the ledger did not answer\n", "text/plain; charset=utf-8");
            return;
        }
        res.set_content(metrics.render(statistics), "text/plain; version=0.0.4; charset=utf-8");
    });
}

}  // namespace datafix::server
