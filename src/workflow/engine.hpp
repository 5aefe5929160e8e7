// The glue between the pure rules and the store: loads and locks a request in the ledger, lets
// decide() rule on it, and persists the new state with its audit events in one transaction. A
// refusal writes nothing. This is the API the server calls for every step.
#pragma once

#include <functional>
#include <vector>

#include "ledger/ledger.hpp"
#include "workflow/action.hpp"
#include "workflow/config.hpp"
#include "workflow/decide.hpp"
#include "workflow/decision.hpp"

namespace datafix::workflow {

// The messages an allowed step queues (composed by the notify layer, above this one); they are
// written in the step's own ledger transaction.
using StepMessages =
    std::function<std::vector<ledger::NewNotificationRow>(const Action&, const Decision&)>;

class Engine {
  public:
    Engine(ledger::Ledger& ledger, WorkflowConfig config);

    // One step on request `number`; refusal "request-not-found" (not_found) when it is unknown.
    // `messages`, when given, are queued in the same transaction as the step.
    Decision perform(model::RequestNumber number, const Action& action, const Actor& actor,
                     model::Time now, const StepMessages& messages = {});

    // Files a new request (checked by check_new_request); the new state on success.
    // `messages`, when given, are queued in the same transaction as the request.
    Decision create_request(const NewRequest& request, const Actor& actor, model::Time now,
                            const ledger::NewRequestMessages& messages = {});

    const WorkflowConfig& config() const { return config_; }
    ledger::Ledger& ledger() { return ledger_; }

  private:
    ledger::Ledger& ledger_;
    WorkflowConfig config_;
};

}  // namespace datafix::workflow
