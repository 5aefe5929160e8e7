// The rules of the runbook as one pure function: given a request's state, an action, who asks
// and when, the configuration -> allowed with the new state and events, or refused. No I/O, no
// clock: `now` is passed in.
#pragma once

#include <optional>
#include <string_view>

#include "model/person.hpp"
#include "model/request_state.hpp"
#include "model/time.hpp"
#include "workflow/action.hpp"
#include "workflow/config.hpp"
#include "workflow/decision.hpp"

namespace datafix::workflow {

Decision decide(const model::RequestState& state, const Action& action, const Actor& actor,
                model::Time now, const WorkflowConfig& config);

// A new request: who may file it, for which product owner. `requester` is the person named as
// requested_by (nullptr when unknown). Returns the refusal, or nothing when allowed.
struct NewRequest {
    std::string title;
    std::string reason;
    model::UserId requested_by = 0;  // 0: the actor (a product owner) files it
    std::string requested_date;      // YYYY-MM-DD
    std::string ticket;
};
// A calendar date written YYYY-MM-DD (ISO 8601's extended form), e.g. 2026-12-15.
bool is_iso_date(std::string_view text);

std::optional<Refusal> check_new_request(const NewRequest& request, const Actor& actor,
                                         const model::Person* requester);

// People management (create, deactivate, rotate a token) is for admins.
std::optional<Refusal> check_manage_users(const Actor& actor);

}  // namespace datafix::workflow
