// Helpers shared by the rule functions.
#include "workflow/rules.hpp"

#include <utility>

#include "workflow/reading.hpp"

namespace datafix::workflow::rules {

Refusal refusal(std::string rule, std::string message, std::string hint, ErrorCode code) {
    return Refusal{std::move(rule), std::move(message), std::move(hint), code};
}

model::AuditEvent event(const Context& ctx, std::string action, EventFields fields) {
    model::AuditEvent e;
    e.at = ctx.now;
    e.actor = ctx.actor.id;
    e.action = std::move(action);
    e.request = ctx.state.request.number;
    e.environment = std::move(fields.environment);
    e.statement_hash = std::move(fields.statement_hash);
    e.evidence_fingerprint = std::move(fields.fingerprint);
    e.detail = std::move(fields.detail);
    return e;
}

std::string command(const Context& ctx, std::string_view verb, std::string_view rest) {
    std::string line =
        "datafix " + std::string(verb) + " " + std::to_string(ctx.state.request.number);
    if (!rest.empty()) {
        line += " " + std::string(rest);
    }
    return line;
}

Decision allow(model::RequestState next, std::vector<model::AuditEvent> events) {
    Decision decision;
    decision.state = std::move(next);
    decision.events = std::move(events);
    return decision;
}

std::optional<Refusal> require_driver(const Context& ctx) {
    if (!reading::is_driver(ctx.state, ctx.actor.id)) {
        return refusal(
            "driver-only", "only the driver of this request may do this",
            "claim the request first (" + command(ctx, "claim") + "), or ask its driver");
    }
    // A closed request cannot be claimed by anyone, so its last driver needs no lease for
    // what remains (reverts).
    if (ctx.state.request.status == model::RequestStatus::open &&
        !reading::lease_active(ctx.state, ctx.now)) {
        return refusal("lease-expired", "your claim on this request has expired",
                       "claim it again (" + command(ctx, "claim") + ") to renew the lease");
    }
    return std::nullopt;
}

std::optional<Refusal> require_open(const Context& ctx) {
    switch (ctx.state.request.status) {
        case model::RequestStatus::open:
            return std::nullopt;
        case model::RequestStatus::done:
            return refusal("request-done", "the request is done: prod is applied",
                           "file a new request for a further change");
        case model::RequestStatus::cancelled:
            return refusal("request-cancelled", "the request is cancelled",
                           "file a new request for a further change");
    }
    return std::nullopt;
}

std::optional<Refusal> require_idle(const Context& ctx) {
    const model::Run* run = reading::running_run(ctx.state);
    if (run != nullptr) {
        return refusal("run-in-progress",
                       "run " + std::to_string(run->number) + " (" +
                           std::string(model::run_kind_name(run->kind)) + " in " +
                           run->environment + ") is still in progress",
                       "wait until it finishes (" + command(ctx, "watch") + ")");
    }
    return std::nullopt;
}

std::optional<Refusal> require_environment(const Context& ctx, const std::string& environment) {
    if (ctx.config.find(environment) == nullptr) {
        std::vector<std::string> names;
        for (const EnvironmentRules& env : ctx.config.environments) {
            names.push_back(env.name);
        }
        return unknown_environment(environment, names);
    }
    return std::nullopt;
}

std::optional<Refusal> require_resolved(const Context& ctx, const std::string& environment) {
    const model::Run* run = reading::in_doubt_run(ctx.state, environment);
    if (run != nullptr) {
        return refusal("in-doubt-unresolved",
                       "run " + std::to_string(run->number) + " in " + environment +
                           " is in doubt: its commit may or may not have happened",
                       "resolve it first (" + command(ctx, "resolve", std::to_string(run->number)) +
                           "); nothing else may happen in " + environment + " until then");
    }
    return std::nullopt;
}

void renew_lease(model::RequestState& next, const Context& ctx) {
    if (next.claim.has_value() && next.claim->driver == ctx.actor.id) {
        next.claim->lease_expires_at = ctx.now + ctx.config.lease;
    }
}

std::string current_revision_hash(const model::RequestState& state) {
    const model::Revision* revision = state.current_revision();
    return revision == nullptr ? std::string() : revision->hash;
}

}  // namespace datafix::workflow::rules
