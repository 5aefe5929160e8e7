// Building refusals and turning them into errors at the edge.
#include "workflow/decision.hpp"

#include <utility>

namespace datafix::workflow {

Decision refuse(const ledger::RequestState& state, Refusal refusal) {
    Decision decision;
    decision.refusal = std::move(refusal);
    decision.state = state;
    return decision;
}

Error to_error(const Refusal& refusal) {
    return Error(refusal.code, refusal.message + " [" + refusal.rule + "]", refusal.hint);
}

}  // namespace datafix::workflow
