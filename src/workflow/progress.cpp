// Per-environment progress, read with the same helpers the rules use.
#include "workflow/progress.hpp"

#include "workflow/reading.hpp"

namespace datafix::workflow {

std::string_view stage_name(Stage stage) {
    switch (stage) {
        case Stage::waiting:
            return "waiting";
        case Stage::ready:
            return "ready";
        case Stage::running:
            return "running";
        case Stage::in_doubt:
            return "in_doubt";
        case Stage::previewed:
            return "previewed";
        case Stage::approved:
            return "approved";
        case Stage::applied:
            return "applied";
        case Stage::reverted:
            return "reverted";
    }
    return "unknown";
}

Progress summarize(const ledger::RequestState& state, const WorkflowConfig& config,
                   ledger::Time now) {
    Progress progress;
    const ledger::Revision* revision = state.current_revision();
    progress.lease_active = reading::lease_active(state, now);
    if (revision != nullptr) {
        progress.revision = revision->number;
        progress.revision_hash = revision->hash;
        progress.product_owner_approved = reading::product_owner_approved(state, revision->number);
    }
    bool previous_applied = true;
    for (const EnvironmentRules& rules : config.environments) {
        EnvironmentProgress env;
        env.name = rules.name;
        const ledger::Run* running = reading::running_run(state);
        const ledger::Run* applied =
            revision == nullptr ? nullptr
                                : reading::applied_run(state, rules.name, revision->number);
        const ledger::Run* evidence =
            revision == nullptr ? nullptr
                                : reading::latest_evidence(state, rules.name, revision->number);
        if (evidence != nullptr) {
            env.preview_run = evidence->number;
            env.fingerprint = evidence->fingerprint;
        }
        if (applied != nullptr) {
            env.apply_run = applied->number;
        }
        if (reading::in_doubt_run(state, rules.name) != nullptr) {
            env.stage = Stage::in_doubt;
        } else if (running != nullptr && running->environment == rules.name) {
            env.stage = Stage::running;
        } else if (applied != nullptr) {
            env.stage = reading::reverted(state, *applied) ? Stage::reverted : Stage::applied;
        } else if (evidence != nullptr) {
            const bool approved =
                reading::valid_approval(state, ledger::ApprovalKind::evidence, rules.name,
                                        revision->number, evidence->fingerprint) != nullptr;
            env.stage = approved ? Stage::approved : Stage::previewed;
        } else if (revision != nullptr && previous_applied) {
            env.stage = Stage::ready;
        } else {
            env.stage = Stage::waiting;
        }
        previous_applied = applied != nullptr;
        progress.environments.push_back(std::move(env));
    }
    return progress;
}

}  // namespace datafix::workflow
