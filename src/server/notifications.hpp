// Notifications of the runbook's moments, wired into the server: the outbox in the ledger, the
// Notifier that composes a step's messages (no network; the step's own ledger transaction queues
// them), and the Dispatcher with its loop that delivers and retries. A message that cannot be
// composed is logged, never fails the step. Outbox rows this server claims name it; reclaim()
// hands back to delivery what a server that is gone had claimed.
#pragma once

#include <spdlog/logger.h>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ledger/ledger.hpp"
#include "notify/channels.hpp"
#include "notify/ledger_outbox.hpp"
#include "notify/notifier.hpp"
#include "notify/summary.hpp"
#include "server/config.hpp"
#include "workflow/action.hpp"
#include "workflow/config.hpp"
#include "workflow/decision.hpp"

namespace datafix::server {

// One event to tell people about, and the environment it happened in ("" for none).
struct RunbookMoment {
    notify::EventKind event = notify::EventKind::request_created;
    std::string environment;
};

// The moments an allowed step is (none for most steps): a claim taken (claimed, and pair wanted
// while nobody pairs), a pair leaving, an apply's or revert's outcome (test applied: the
// environment before one that needs the product owner; prod applied: the last environment;
// test reverted: a revert outside production; failed; in doubt), an in-doubt run resolved, a
// preview's evidence waiting for the pair, a new revision waiting for the pair to approve putting
// back each environment that holds an older one, a cancel.
std::vector<RunbookMoment> runbook_moments(const workflow::Action& action,
                                           const workflow::Decision& decision,
                                           const workflow::WorkflowConfig& workflow);

class Notifications {
  public:
    // `ledger` must outlive this object. The delivery loop runs only when channels exist.
    // `owner`: this server, as its claims on outbox rows name it.
    Notifications(const notify::NotifyConfig& config, const NotifyDelivery& delivery,
                  ledger::Ledger& ledger, workflow::WorkflowConfig workflow,
                  std::shared_ptr<spdlog::logger> log, notify::OutboxOwner owner);
    ~Notifications();  // stops the loop first, then the dispatcher it drives
    Notifications(const Notifications&) = delete;
    Notifications& operator=(const Notifications&) = delete;

    // The messages of an allowed step's runbook moments (with no action, a new request's
    // "request created"), composed (not queued): Context has the workflow write them in the
    // step's own ledger transaction.
    std::vector<ledger::NewNotificationRow> step_messages(const workflow::Action* action,
                                                          const workflow::Decision& decision,
                                                          const notify::PersonLookup& people);
    // After a step that queued messages: the delivery loop looks at once.
    void wake();
    // Makes due again, and wakes the loop for, the messages claimed by a server that is gone: an
    // earlier life of this instance, or one whose heartbeat lapsed. Called before the server
    // listens and after each heartbeat; logs and returns how many; never throws.
    int reclaim();

  private:
    workflow::WorkflowConfig workflow_;
    std::shared_ptr<spdlog::logger> log_;
    // Declaration order is destruction order reversed: the loop stops before the dispatcher,
    // the dispatcher goes before the outbox it writes to.
    notify::LedgerOutbox outbox_;
    notify::Notifier notifier_;
    notify::Dispatcher dispatcher_;
    std::unique_ptr<notify::DispatchLoop> loop_;
};

// The request's undelivered messages for `datafix show`: channel, recipient, attempts, last
// error, next attempt (no payload).
// `with_errors`: the delivery errors too (for admins); otherwise "last_error" is null.
nlohmann::json undelivered_json(const std::vector<ledger::NotificationRow>& rows, bool with_errors);

}  // namespace datafix::server
