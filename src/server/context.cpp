// The shared server state and the one path of a workflow step.
#include "server/context.hpp"

#include "ledger/audit_chain.hpp"
#include "server/backup_view.hpp"
#include "server/run_view.hpp"

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "server/api_error.hpp"

namespace datafix::server {

std::unique_ptr<ledger::Ledger> open_ledger(const Config& config, const Key& key,
                                            spdlog::logger& log) {
    const std::string& path = config.server.audit_key_file;
    std::error_code error;
    if (std::filesystem::exists(path, error)) {
        ledger::AuditKeying keying{Key::load_file(path), false};
        return ledger::Ledger::open(config.server.ledger_url, key, &keying);
    }
    // No audit key yet (a new server, or a ledger from before keyed chains): create it, and the
    // ledger keys its chain from here on — unless the chain is keyed already, with a key this
    // server lacks; then the new file goes again and the server does not start.
    ledger::AuditKeying keying{Key::create_file(path), true};
    try {
        auto ledger = ledger::Ledger::open(config.server.ledger_url, key, &keying);
        auto head = ledger->audit_head();
        log.warn(
            "created the audit key file {}: the audit chain is keyed from entry {}; back "
            "it up with the key file (without it the chain cannot be verified)",
            path, head ? head->seq : 0);
        return ledger;
    } catch (...) {
        std::filesystem::remove(path, error);
        throw;
    }
}

Context::Context(Config config, const Key& key, std::unique_ptr<ledger::Ledger> ledger,
                 std::shared_ptr<spdlog::logger> log)
    : config_(std::move(config)),
      key_(key),
      ledger_(std::move(ledger)),
      engine_(*ledger_, config_.workflow()),
      events_(StreamLimits{config_.server.max_streams, config_.server.max_streams_per_person}),
      log_(std::move(log)) {
    // The head leaves the ledger with every append: whoever keeps the log can later ask
    // `datafix audit verify --head SEQ:MAC` whether the ledger still holds it.
    ledger_->set_audit_publisher([log = log_](const model::AuditEntry& entry) {
        log->info("audit head {}", ledger::format_audit_anchor(entry));
    });
    if (auto head = ledger_->audit_head()) {
        log_->info("audit head {}", ledger::format_audit_anchor(*head));
    }
}

workflow::Decision Context::perform(model::RequestNumber number, const workflow::Action& action,
                                    const workflow::Actor& actor) {
    workflow::Decision decision;
    {
        // Read before the step's transaction: composing inside it must not need the ledger.
        People everyone = step_messages_ ? people() : People{};
        workflow::StepMessages messages;
        if (step_messages_) {
            messages = [this, &everyone](const workflow::Action& a, const workflow::Decision& d) {
                return step_messages_(&a, d, everyone);
            };
        }
        std::lock_guard lock(step_mutex_);
        decision = engine_.perform(number, action, actor, model::wall_clock_now(), messages);
    }
    std::string name(workflow::action_name(action));
    if (!decision.allowed()) {
        log_->info("request {} {} by user {} refused: {}", number, name, actor.id,
                   decision.refusal->rule);
        return decision;
    }
    nlohmann::json events = nlohmann::json::array();
    for (const auto& e : decision.events) {
        events.push_back({{"action", e.action},
                          {"environment", e.environment},
                          {"statement_hash", e.statement_hash},
                          {"evidence_fingerprint", e.evidence_fingerprint},
                          {"detail", e.detail}});
    }
    announce(number, "step",
             {{"step", name},
              {"actor", {{"id", actor.id}, {"name", actor.name}}},
              {"version", decision.state.version},
              {"audit", events}});
    if (step_observer_) {
        step_observer_(&action, decision);
    }
    return decision;
}

workflow::Decision Context::create_request(const workflow::NewRequest& request,
                                           const workflow::Actor& actor) {
    workflow::Decision decision;
    {
        // As for a step: the new request's messages are written in its own transaction.
        People everyone = step_messages_ ? people() : People{};
        ledger::NewRequestMessages messages;
        if (step_messages_) {
            messages = [this, &everyone](const model::RequestState& state) {
                workflow::Decision created;
                created.state = state;
                return step_messages_(nullptr, created, everyone);
            };
        }
        std::lock_guard lock(step_mutex_);
        decision = engine_.create_request(request, actor, model::wall_clock_now(), messages);
    }
    if (decision.allowed()) {
        log_->info("request {} created by user {}", decision.state.request.number, actor.id);
        if (step_observer_) {
            step_observer_(nullptr, decision);
        }
    } else {
        log_->info("new request by user {} refused: {}", actor.id, decision.refusal->rule);
    }
    return decision;
}

model::RequestState Context::load_request(model::RequestNumber number) {
    auto state = ledger_->load(number);
    if (!state) {
        throw ApiError(ErrorCode::not_found, "request-not-found",
                       "no request " + std::to_string(number), "list requests with datafix list");
    }
    return *std::move(state);
}

People Context::people() {
    {
        std::lock_guard cached(people_mutex_);
        if (people_) {
            return *people_;
        }
    }
    People people;
    for (auto& p : ledger_->list_users()) {
        people.emplace(p.id, std::move(p));
    }
    std::lock_guard cached(people_mutex_);
    people_ = people;
    return people;
}

void Context::forget_people() {
    std::lock_guard cached(people_mutex_);
    people_.reset();
}

void Context::announce(model::RequestNumber number, const std::string& type, nlohmann::json data) {
    std::string step = data.contains("step") ? data["step"].get<std::string>() : type;
    log_->info("request {} {}: {}", number, type, step);
    events_.publish(number, type, std::move(data));
}

void Context::announce(model::RequestNumber number, const run::RunEvent& event) {
    announce(number, event.type, run_event_json(event));
}

void Context::announce(model::RequestNumber number, const run::BackupEvent& event) {
    std::string type(run::backup_event_name(event.kind));
    if (event.kind == run::BackupEventKind::progress) {
        // Not logged: one line every half second says nothing the started/finished lines do not.
        events_.publish(number, type, backup_event_json(event));
        return;
    }
    announce(number, type, backup_event_json(event));
}

}  // namespace datafix::server
