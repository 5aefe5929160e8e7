// Building refusals and turning them into errors at the edge.
#include "workflow/decision.hpp"

#include <utility>

namespace datafix::workflow {

Decision refuse(const model::RequestState& state, Refusal refusal) {
    Decision decision;
    decision.refusal = std::move(refusal);
    decision.state = state;
    return decision;
}

void throw_refusal(const Refusal& refusal) {
    throw Error(refusal.code, refusal.message, refusal.hint, refusal.rule);
}

Refusal unknown_environment(const std::string& name, const std::vector<std::string>& configured) {
    std::string names;
    for (const std::string& c : configured) {
        names += (names.empty() ? "" : ", ") + c;
    }
    return Refusal{"environment-unknown", "no environment named '" + name + "'",
                   "use one of the configured environments: " + names, ErrorCode::not_found};
}

Error to_error(const Refusal& refusal) {
    return Error(refusal.code, refusal.message + " [" + refusal.rule + "]", refusal.hint);
}

}  // namespace datafix::workflow
