// What a run needs from the process that hosts it (the server's Context): the key and the data
// directory, the configured environments and workflow rules, the ledger, the one path by which a
// step reaches the workflow, where the run's (and backup job's) events go, and the log. The run
// layer chooses no HTTP status and shapes no API view: it returns typed results (run_report.hpp)
// and announces typed events, which the server turns into JSON.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <spdlog/logger.h>

#include "core/crypto.hpp"
#include "ledger/ledger.hpp"
#include "model/request_state.hpp"
#include "run/environment.hpp"
#include "targetdb/evidence.hpp"
#include "workflow/action.hpp"
#include "workflow/config.hpp"
#include "workflow/decision.hpp"

namespace datafix::run {

struct RunReport;
struct BackupEvent;

// Something a run did, for the request's watchers.
struct RunEvent {
    // run.started, run.finished, run.failed, run.in_doubt, live.open, live.ended
    std::string type;
    int run = 0;
    std::string kind;                              // run.started: preview, apply, revert, live
    std::string environment;                       // run.started, live.open
    std::optional<model::Time> deadline;           // a live run's
    const RunReport* outcome = nullptr;            // run.finished
    const targetdb::Evidence* evidence = nullptr;  // live.open: what the pair is shown
    std::string fingerprint;                       // live.open
    std::string error;                             // run.failed: the error code's name
    bool recovered = false;                        // run.failed / run.in_doubt settled by recovery
    std::string why;                               // live.ended: cancelled, window_ended
};

class Host {
  public:
    virtual ~Host() = default;

    virtual const Key& key() const = 0;
    // Where runs keep their sealed files (data_dir/request-<n>/).
    virtual const std::string& data_dir() const = 0;
    virtual workflow::WorkflowConfig workflow_config() const = 0;
    virtual const EnvironmentConfig* find_environment(std::string_view name) const = 0;

    // The request's state; Error(not_found, rule request-not-found) when there is none.
    virtual model::RequestState load_request(model::RequestNumber number) = 0;
    // One workflow step, now, in a ledger transaction; allowed steps reach the watchers.
    virtual workflow::Decision perform(model::RequestNumber number, const workflow::Action& action,
                                       const workflow::Actor& actor) = 0;
    // The ledger, for what is not a workflow step (leases, running runs, people).
    virtual ledger::Ledger& ledger() = 0;
    template <class Fn>
    auto with_ledger(Fn&& fn) {
        return fn(ledger());
    }
    // Publishes the event to the request's watchers and logs it.
    virtual void announce(model::RequestNumber number, const RunEvent& event) = 0;
    // A backup job's event (run/backup_report.hpp), likewise; progress is published, not logged.
    virtual void announce(model::RequestNumber number, const BackupEvent& event) = 0;
    virtual spdlog::logger& log() = 0;
};

}  // namespace datafix::run
