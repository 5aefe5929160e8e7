// The answer of the workflow: allowed (with the new state and the audit events to record), or a
// refusal with a stable rule id, a message and a hint. A refusal changes nothing.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "model/audit.hpp"
#include "model/request_state.hpp"

namespace datafix::workflow {

struct Refusal {
    std::string rule;  // stable id, e.g. "pair-is-not-driver"
    std::string message;
    std::string hint;
    // rule (10) for a workflow rule; forbidden (12) for a role that may never do this;
    // not_found (14) for an unknown request or run. Maps to the HTTP status and exit code.
    ErrorCode code = ErrorCode::rule;
};

// The one refusal of an environment name that is not configured, whichever verb or route meets
// it: not_found, rule "environment-unknown", listing the configured names in promotion order.
Refusal unknown_environment(const std::string& name, const std::vector<std::string>& configured);

// Throws the refusal as an Error carrying its rule (the server answers it with its HTTP status).
[[noreturn]] void throw_refusal(const Refusal& refusal);

struct Decision {
    std::optional<Refusal> refusal;
    model::RequestState state;              // the new state when allowed, else unchanged
    std::vector<model::AuditEvent> events;  // to append to the audit trail (allowed only)
    std::optional<int> run;                 // the run started by StartPreview/Apply/Revert

    bool allowed() const { return !refusal.has_value(); }
};

Decision refuse(const model::RequestState& state, Refusal refusal);

// A refusal as an exception, for callers that must stop (e.g. the CLI).
Error to_error(const Refusal& refusal);

}  // namespace datafix::workflow
