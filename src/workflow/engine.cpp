// The engine: decide() inside the ledger's transaction, so a decision is taken on the state as
// stored and committed atomically with its audit entries.
#include "workflow/engine.hpp"

#include <utility>

namespace datafix::workflow {

Engine::Engine(ledger::Ledger& ledger, WorkflowConfig config)
    : ledger_(ledger), config_(std::move(config)) {}

Decision Engine::perform(model::RequestNumber number, const Action& action, const Actor& actor,
                         model::Time now, const StepMessages& messages) {
    Decision decision;
    ledger::TransactResult result =
        ledger_.transact(number, [&](model::RequestState& state) -> ledger::Mutation {
            decision = decide(state, action, actor, now, config_);
            if (!decision.allowed()) {
                return {};
            }
            state = decision.state;
            ledger::Mutation mutation{true, decision.events, {}, now};
            if (messages) {
                mutation.notifications = messages(action, decision);
            }
            return mutation;
        });
    if (!result.found) {
        decision = Decision{};
        decision.refusal =
            Refusal{"request-not-found", "no change request #" + std::to_string(number),
                    "list the requests with datafix list", ErrorCode::not_found};
        return decision;
    }
    decision.state = std::move(result.state);
    return decision;
}

Decision Engine::create_request(const NewRequest& request, const Actor& actor, model::Time now,
                                const ledger::NewRequestMessages& messages) {
    model::UserId requested_by = request.requested_by == 0 ? actor.id : request.requested_by;
    std::optional<model::Person> requester = ledger_.find_user(requested_by);
    Decision decision;
    if (auto refusal = check_new_request(request, actor, requester ? &*requester : nullptr)) {
        decision.refusal = std::move(refusal);
        return decision;
    }
    model::ChangeRequest draft;
    draft.title = request.title;
    draft.reason = request.reason;
    draft.requested_by = requested_by;
    draft.requested_date = request.requested_date;
    draft.ticket = request.ticket;
    draft.created_by = actor.id;
    draft.created_at = now;
    draft.status = model::RequestStatus::open;
    model::AuditEvent event;
    event.at = now;
    event.actor = actor.id;
    event.action = "request.created";
    event.detail = "requested_by=" + std::to_string(requested_by);
    decision.state = ledger_.create_request(draft, event, messages);
    event.request = decision.state.request.number;
    decision.events.push_back(std::move(event));
    return decision;
}

}  // namespace datafix::workflow
