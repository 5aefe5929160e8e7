// Which committed steps are runbook moments, composing their messages for the step's
// transaction, and handing back to the delivery loop what a server that is gone had claimed.
#include "server/notifications.hpp"

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <algorithm>

#include "server/state_json.hpp"
#include "workflow/progress.hpp"

namespace datafix::server {

namespace {

bool has_event(const workflow::Decision& decision, std::string_view action) {
    return std::any_of(decision.events.begin(), decision.events.end(),
                       [&](const model::AuditEvent& e) { return e.action == action; });
}

const model::Run* find_run(const model::RequestState& state, int number) {
    for (const auto& run : state.runs) {
        if (run.number == number) {
            return &run;
        }
    }
    return nullptr;
}

// A committed apply or revert: which moment it is, if any.
std::optional<notify::EventKind> committed_moment(const model::Run& run,
                                                  const workflow::WorkflowConfig& workflow) {
    const int index = workflow.index_of(run.environment);
    if (index < 0) {
        return std::nullopt;
    }
    const auto position = static_cast<std::size_t>(index);
    if (run.kind == model::RunKind::apply || run.kind == model::RunKind::live) {
        if (position + 1 == workflow.environments.size()) {
            return notify::EventKind::prod_applied;
        }
        if (workflow.environments[position + 1].needs_product_owner_approval) {
            return notify::EventKind::test_applied;
        }
        return std::nullopt;
    }
    if (run.kind == model::RunKind::revert && !workflow.environments[position].production) {
        return notify::EventKind::test_reverted;
    }
    return std::nullopt;
}

void add_run_moments(const model::RequestState& state, const model::Run& run,
                     workflow::RunOutcome outcome, const workflow::WorkflowConfig& workflow,
                     std::vector<RunbookMoment>& out) {
    if (run.kind == model::RunKind::preview) {
        // Its evidence now waits for the pair; a failed rehearsal changed nothing, and the
        // driver sees it at once.
        if (outcome == workflow::RunOutcome::succeeded && state.pair) {
            out.push_back({notify::EventKind::evidence_to_approve, run.environment});
        }
        return;
    }
    switch (outcome) {
        case workflow::RunOutcome::succeeded:
            if (auto event = committed_moment(run, workflow)) {
                out.push_back({*event, run.environment});
            }
            return;
        case workflow::RunOutcome::failed:
            out.push_back({notify::EventKind::failed, run.environment});
            return;
        case workflow::RunOutcome::in_doubt:
            out.push_back({notify::EventKind::in_doubt, run.environment});
            return;
    }
}

}  // namespace

std::vector<RunbookMoment> runbook_moments(const workflow::Action& action,
                                           const workflow::Decision& decision,
                                           const workflow::WorkflowConfig& workflow) {
    std::vector<RunbookMoment> moments;
    const model::RequestState& state = decision.state;
    if (std::holds_alternative<workflow::ClaimRequest>(action) ||
        std::holds_alternative<workflow::HandOver>(action)) {
        if (has_event(decision, "claim.taken") || has_event(decision, "claim.handed_over")) {
            moments.push_back({notify::EventKind::claimed, ""});
            if (!state.pair) {
                moments.push_back({notify::EventKind::pair_wanted, ""});
            }
        }
    } else if (std::holds_alternative<workflow::LeavePair>(action)) {
        moments.push_back({notify::EventKind::pair_wanted, ""});
    } else if (std::holds_alternative<workflow::AddComment>(action)) {
        moments.push_back({notify::EventKind::commented, ""});
    } else if (std::holds_alternative<workflow::RequestChanges>(action)) {
        moments.push_back({notify::EventKind::changes_requested, ""});
    } else if (const auto* finish = std::get_if<workflow::FinishRun>(&action)) {
        if (const model::Run* run = find_run(state, finish->run)) {
            add_run_moments(state, *run, finish->outcome, workflow, moments);
        }
    } else if (const auto* resolve = std::get_if<workflow::ResolveInDoubt>(&action)) {
        if (const model::Run* run = find_run(state, resolve->run)) {
            add_run_moments(
                state, *run,
                resolve->committed ? workflow::RunOutcome::succeeded : workflow::RunOutcome::failed,
                workflow, moments);
        }
    } else if (std::holds_alternative<workflow::AttachRevision>(action)) {
        // Each environment still holding an older revision waits for the pair's approval of
        // its revert (or for a pair, when nobody pairs yet).
        const auto stale = workflow::stale_changes(state, workflow);
        if (!stale.empty() && !state.pair) {
            moments.push_back({notify::EventKind::pair_wanted, ""});
        }
        for (auto held = stale.rbegin(); held != stale.rend() && state.pair; ++held) {
            moments.push_back({notify::EventKind::revert_to_approve, held->environment});
        }
    } else if (std::holds_alternative<workflow::CancelRequest>(action)) {
        moments.push_back({notify::EventKind::cancelled, ""});
    } else if (const auto* shown = std::get_if<workflow::RecordLiveEvidence>(&action)) {
        // An open live transaction waits for the pair's approval within its window.
        const model::Run* run = find_run(state, shown->run);
        if (run != nullptr && state.pair) {
            moments.push_back({notify::EventKind::evidence_to_approve, run->environment});
        }
    }
    return moments;
}

Notifications::Notifications(const notify::NotifyConfig& config, const NotifyDelivery& delivery,
                             ledger::Ledger& ledger, workflow::WorkflowConfig workflow,
                             std::shared_ptr<spdlog::logger> log, notify::OutboxOwner owner)
    : workflow_(std::move(workflow)),
      log_(std::move(log)),
      outbox_(ledger, notify::delivery_lease(config, 100), std::move(owner)),
      notifier_(config, outbox_),
      dispatcher_(config, outbox_, notify::Backoff{delivery.retry_first, delivery.retry_max}) {
    if (!config.channels.empty()) {
        loop_ = std::make_unique<notify::DispatchLoop>(dispatcher_, delivery.poll_interval);
    }
}

Notifications::~Notifications() {
    loop_.reset();
}

std::vector<ledger::NewNotificationRow> Notifications::step_messages(
    const workflow::Action* action, const workflow::Decision& decision,
    const notify::PersonLookup& people) {
    std::vector<ledger::NewNotificationRow> rows;
    const auto now = model::wall_clock_now();
    const std::vector<RunbookMoment> moments =
        action != nullptr ? runbook_moments(*action, decision, workflow_)
                          : std::vector<RunbookMoment>{{notify::EventKind::request_created, ""}};
    const std::vector<workflow::HeldChange> held =
        workflow::held_changes(decision.state, workflow_);
    for (const auto& moment : moments) {
        try {
            notify::ChangeSummary summary =
                notify::summarize(decision.state, moment.event, moment.environment, people, now);
            for (const auto& h : held) {
                summary.changed_environments.push_back(h.environment);
                if (h.environment == moment.environment && h.revision != summary.revision) {
                    summary.held_revision = h.revision;
                }
            }
            if (!decision.events.empty() && decision.events.front().actor != 0) {
                if (auto who = people(decision.events.front().actor)) {
                    summary.actor = notify::Contact{who->name, who->email};
                }
            }
            for (const auto& n : notifier_.compose(summary)) {
                rows.push_back(ledger::NewNotificationRow{std::string(notify::event_name(n.event)),
                                                          n.request, n.channel, n.recipient,
                                                          n.payload});
            }
        } catch (const std::exception& e) {
            // Composing is pure; if it ever fails, the change must not wait for a message.
            log_->error("request {} {}: notification not composed: {}",
                        decision.state.request.number, notify::event_name(moment.event), e.what());
        }
    }
    if (!rows.empty()) {
        log_->info("request {}: {} notification(s) queued with the step",
                   decision.state.request.number, rows.size());
    }
    return rows;
}

void Notifications::wake() {
    if (loop_) {
        loop_->wake();
    }
}

int Notifications::reclaim() {
    try {
        const int reclaimed = outbox_.reclaim(model::wall_clock_now());
        if (reclaimed > 0) {
            log_->info("reclaimed {} notification(s) claimed by a server that is gone", reclaimed);
            wake();
        }
        return reclaimed;
    } catch (const std::exception& e) {
        // The rows stay claimed; the next heartbeat (or, at worst, the delivery lease) frees them.
        log_->warn("notifications not reclaimed: {}", e.what());
        return 0;
    }
}

nlohmann::json undelivered_json(const std::vector<ledger::NotificationRow>& rows,
                                bool with_errors) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& row : rows) {
        list.push_back(
            {{"id", row.id},
             {"event", row.content.event},
             {"channel", row.content.channel},
             {"recipient", row.content.recipient},
             {"attempts", row.attempts},
             {"last_error", with_errors && !row.last_error.empty() ? nlohmann::json(row.last_error)
                                                                   : nlohmann::json()},
             {"created_at", format_time(row.created_at)},
             {"next_attempt_at", format_time(row.next_attempt_at)}});
    }
    return list;
}

}  // namespace datafix::server
