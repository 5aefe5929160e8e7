// What every route shares: the configuration, the key, the ledger and the workflow engine (the
// ledger is safe to share: it keeps a session per concurrent caller and its store orders the
// writes), the live event hub and the logger. perform() is the single path by which a step reaches
// the workflow: it stamps the time, publishes the step to watchers and logs it (names, numbers and
// hashes only).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include <spdlog/logger.h>

#include "core/crypto.hpp"
#include "ledger/ledger.hpp"
#include "run/host.hpp"
#include "server/config.hpp"
#include "server/event_hub.hpp"
#include "server/state_json.hpp"
#include "workflow/decision.hpp"
#include "workflow/engine.hpp"

namespace datafix::server {

// Opens the configured ledger with its audit key (server.audit_key_file, created with mode
// 0600 when missing; see ledger::AuditKeying for when a new key is accepted).
std::unique_ptr<ledger::Ledger> open_ledger(const Config& config, const Key& key,
                                            spdlog::logger& log);

// The host of the runs (run/host.hpp) is the server's context.
class Context : public run::Host {
  public:
    Context(Config config, const Key& key, std::unique_ptr<ledger::Ledger> ledger,
            std::shared_ptr<spdlog::logger> log);

    const Config& config() const { return config_; }
    const Key& key() const override { return key_; }
    const std::string& data_dir() const override { return config_.server.data_dir; }
    workflow::WorkflowConfig workflow_config() const override { return config_.workflow(); }
    const run::EnvironmentConfig* find_environment(std::string_view name) const override {
        return config_.find_environment(name);
    }
    ledger::Ledger& ledger() override { return *ledger_; }
    EventHub& events() { return events_; }
    spdlog::logger& log() override { return *log_; }

    // Runs `fn` with the ledger: the one way routes reach the store.
    template <class Fn>
    auto with_ledger(Fn&& fn) {
        return fn(*ledger_);
    }

    // The request's state; ApiError(not_found, request-not-found) with a HINT when there is none.
    model::RequestState load_request(model::RequestNumber number) override;

    // One workflow step, now. Allowed steps are published to the request's watchers.
    workflow::Decision perform(model::RequestNumber number, const workflow::Action& action,
                               const workflow::Actor& actor) override;
    workflow::Decision create_request(const workflow::NewRequest& request,
                                      const workflow::Actor& actor);

    // Everyone, by id, for naming people in views. Cached: reading a request's state is the hot
    // path, and people change rarely (forget_people() after a change).
    People people();
    void forget_people();

    // Called after every allowed step (and with no action after a request is created), outside
    // the step lock: notifications hang here. Set once, before the server takes requests.
    using StepObserver =
        std::function<void(const workflow::Action* action, const workflow::Decision& decision)>;
    void set_step_observer(StepObserver observer) { step_observer_ = std::move(observer); }
    // Composes an allowed step's messages (with no action: a new request's); they are written in
    // the step's (or the new request's) ledger transaction.
    using StepMessages = std::function<std::vector<ledger::NewNotificationRow>(
        const workflow::Action* action, const workflow::Decision&, const People&)>;
    void set_step_messages(StepMessages messages) { step_messages_ = std::move(messages); }

    // Publishes `type` to the request's watchers and logs it.
    void announce(model::RequestNumber number, const std::string& type, nlohmann::json data);
    // A run's event, as run_view.hpp shapes it.
    void announce(model::RequestNumber number, const run::RunEvent& event) override;
    // A backup job's event, as backup_view.hpp shapes it; progress is published only.
    void announce(model::RequestNumber number, const run::BackupEvent& event) override;

  private:
    Config config_;
    Key key_;
    std::unique_ptr<ledger::Ledger> ledger_;
    workflow::Engine engine_;
    EventHub events_;
    // Steps are serialized in this process: SQLite has one writer at a time anyway, and waiting
    // here is cheaper than many sessions spinning on the database lock. Reads do not take it.
    std::mutex step_mutex_;
    std::mutex people_mutex_;
    std::optional<People> people_;
    std::shared_ptr<spdlog::logger> log_;
    StepObserver step_observer_;
    StepMessages step_messages_;
};

}  // namespace datafix::server
