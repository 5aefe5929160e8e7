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

model::Time live_deadline(const WorkflowConfig& config, const model::Run& run) {
    const EnvironmentRules* rules = config.find(run.environment);
    const auto window = rules != nullptr ? rules->live_window : std::chrono::milliseconds{0};
    return run.started_at + std::chrono::duration_cast<std::chrono::milliseconds>(window);
}

Progress summarize(const model::RequestState& state, const WorkflowConfig& config,
                   model::Time now) {
    Progress progress;
    const model::Revision* revision = state.current_revision();
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
        const model::Run* running = reading::running_run(state);
        const model::Run* applied = revision == nullptr
                                        ? nullptr
                                        : reading::applied_run(state, rules.name, revision->number);
        const model::Run* evidence =
            revision == nullptr ? nullptr
                                : reading::latest_evidence(state, rules.name, revision->number);
        if (evidence != nullptr) {
            env.preview_run = evidence->number;
            env.fingerprint = evidence->fingerprint;
        }
        if (applied != nullptr) {
            env.apply_run = applied->number;
        }
        if (const model::Run* live = reading::open_live_run(state, rules.name)) {
            env.live_run = live->number;
            env.live_fingerprint = live->fingerprint;
            env.live_deadline = live_deadline(config, *live);
        }
        if (reading::in_doubt_run(state, rules.name) != nullptr) {
            env.stage = Stage::in_doubt;
        } else if (running != nullptr && running->environment == rules.name) {
            env.stage = Stage::running;
        } else if (applied != nullptr) {
            env.stage = reading::reverted(state, *applied) ? Stage::reverted : Stage::applied;
        } else if (evidence != nullptr) {
            const bool approved =
                reading::valid_approval(state, model::ApprovalKind::evidence, rules.name,
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

namespace datafix::workflow {

namespace {

using model::RequestState;

std::string run_label(int number) {
    return "#" + std::to_string(number);
}

std::string names(const std::vector<HeldChange>& held) {
    std::string out;
    for (std::size_t i = 0; i < held.size(); ++i) {
        out += (i == 0 ? "" : (i + 1 == held.size() ? " and " : ", ")) + held[i].environment;
    }
    return out;
}

NextStep step_of(std::string step, std::string what, std::string environment, Owner owner,
                 model::UserId person) {
    return NextStep{std::move(step), std::move(what), std::move(environment), owner, person};
}

model::UserId pair_of(const RequestState& state) {
    return state.pair ? state.pair->pair : 0;
}

model::UserId driver_of(const RequestState& state) {
    return state.claim ? state.claim->driver : 0;
}

// A step only the pair can take; without a pair, a developer must join first.
NextStep pair_step(const RequestState& state, std::string step, std::string what,
                   std::string environment) {
    if (!state.pair) {
        return step_of("pair", "a second developer joins as the pair, to " + what, environment,
                       Owner::developer, 0);
    }
    return step_of(std::move(step), std::move(what), std::move(environment), Owner::pair,
                   pair_of(state));
}

// Done or cancelled: what remains is putting data back outside production.
NextStep closed_step(const RequestState& state, const WorkflowConfig& config) {
    std::vector<HeldChange> held;
    for (const HeldChange& h : held_changes(state, config)) {
        const EnvironmentRules* rules = config.find(h.environment);
        if (rules != nullptr && !rules->production) {
            held.push_back(h);
        }
    }
    const bool cancelled = state.request.status == model::RequestStatus::cancelled;
    if (held.empty()) {
        return step_of("none",
                       cancelled ? "nothing: the request is cancelled"
                                 : "nothing: the change is applied everywhere",
                       "", Owner::nobody, 0);
    }
    const HeldChange& last = held.back();
    return step_of("revert", "put the data in " + names(held) + " back: revert " + last.environment,
                   last.environment, Owner::driver, driver_of(state));
}

}  // namespace

std::string_view owner_name(Owner owner) {
    switch (owner) {
        case Owner::nobody:
            return "nobody";
        case Owner::developer:
            return "developer";
        case Owner::driver:
            return "driver";
        case Owner::pair:
            return "pair";
        case Owner::product_owner:
            return "product_owner";
        case Owner::running:
            return "running";
    }
    return "nobody";
}

std::vector<HeldChange> held_changes(const RequestState& state, const WorkflowConfig& config) {
    std::vector<HeldChange> held;
    for (const EnvironmentRules& rules : config.environments) {
        if (const model::Run* apply = reading::revertable_apply(state, rules.name)) {
            held.push_back({rules.name, apply->revision, apply->number});
        }
    }
    return held;
}

std::vector<HeldChange> stale_changes(const RequestState& state, const WorkflowConfig& config) {
    std::vector<HeldChange> stale;
    const model::Revision* revision = state.current_revision();
    if (revision == nullptr) {
        return stale;
    }
    for (const HeldChange& h : held_changes(state, config)) {
        const EnvironmentRules* rules = config.find(h.environment);
        if (h.revision != revision->number && rules != nullptr && !rules->production) {
            stale.push_back(h);
        }
    }
    return stale;
}

NextStep next_step(const RequestState& state, const WorkflowConfig& config, model::Time now) {
    if (state.request.status != model::RequestStatus::open) {
        return closed_step(state, config);
    }
    if (const model::Run* run = reading::running_run(state)) {
        if (run->kind == model::RunKind::live && !run->fingerprint.empty() &&
            !reading::live_approved(state, *run)) {
            // The open transaction waits for the pair: their approval commits it.
            return pair_step(state, "approve",
                             "approve what live run " + run_label(run->number) + " shows in " +
                                 run->environment + " before its window ends; that commits it",
                             run->environment);
        }
        return step_of("running",
                       "wait: the " + std::string(model::run_kind_name(run->kind)) + " " +
                           run_label(run->number) + " in " + run->environment + " is running",
                       run->environment, Owner::running, run->started_by);
    }
    if (const model::Run* run = reading::any_in_doubt_run(state)) {
        return step_of("resolve",
                       "resolve run " + run_label(run->number) + " in " + run->environment +
                           ": its outcome is in doubt",
                       run->environment, Owner::driver, driver_of(state));
    }
    if (!state.claim) {
        return step_of("claim", "a developer claims the request to drive it", "", Owner::developer,
                       0);
    }
    if (!reading::lease_active(state, now)) {
        return step_of("claim", "claim the request again: the driver's lease ended", "",
                       Owner::driver, driver_of(state));
    }
    const model::Revision* revision = state.current_revision();
    if (revision == nullptr) {
        return step_of("change", "attach the change (the change and verify files)", "",
                       Owner::driver, driver_of(state));
    }
    // A newer revision waits until the data of the older one is put back, latest first.
    std::vector<HeldChange> stale = stale_changes(state, config);
    if (!stale.empty()) {
        const HeldChange& last = stale.back();
        const model::Run* apply = reading::find_run(state, last.apply_run);
        const std::string held = last.environment + " still holds revision " +
                                 std::to_string(last.revision) + "; revision " +
                                 std::to_string(revision->number) + " starts again at " +
                                 config.environments.front().name;
        if (reading::valid_approval(state, model::ApprovalKind::emergency_revert, last.environment,
                                    last.revision, apply->fingerprint) == nullptr) {
            return pair_step(state, "approve-revert",
                             "approve the revert of " + last.environment + " (" + held + ")",
                             last.environment);
        }
        return step_of("revert", "revert " + last.environment + " (" + held + ")", last.environment,
                       Owner::driver, driver_of(state));
    }
    // Sent back by the pair or the product owner: new approvals wait until the driver answers,
    // with a new preview or a new revision.
    const bool changes_asked = reading::pending_changes_request(state) != nullptr;
    std::string previous;
    for (const EnvironmentRules& rules : config.environments) {
        const std::string& env = rules.name;
        if (reading::applied_run(state, env, revision->number) != nullptr) {
            previous = env;
            continue;
        }
        if (changes_asked) {
            // Production cannot be previewed before its approval: only a new revision answers.
            if (rules.needs_product_owner_approval &&
                !reading::product_owner_approved(state, revision->number)) {
                return step_of("change", "answer the requested changes: attach a new revision", "",
                               Owner::driver, driver_of(state));
            }
            return step_of("preview",
                           "answer the requested changes: preview revision " +
                               std::to_string(revision->number) + " in " + env +
                               " again, or attach a new revision",
                           env, Owner::driver, driver_of(state));
        }
        if (rules.needs_product_owner_approval &&
            !reading::product_owner_approved(state, revision->number)) {
            return step_of("approve-prod",
                           "verify the change in " + (previous.empty() ? env : previous) +
                               ", then approve " + env + " for revision " +
                               std::to_string(revision->number),
                           env, Owner::product_owner, state.request.requested_by);
        }
        const model::Run* evidence = reading::latest_evidence(state, env, revision->number);
        if (evidence == nullptr) {
            return step_of("preview",
                           "preview revision " + std::to_string(revision->number) + " in " + env,
                           env, Owner::driver, driver_of(state));
        }
        if (reading::valid_approval(state, model::ApprovalKind::evidence, env, revision->number,
                                    evidence->fingerprint) == nullptr) {
            return pair_step(
                state, "approve",
                "approve the evidence of preview " + run_label(evidence->number) + " in " + env,
                env);
        }
        return step_of("apply",
                       std::string(rules.needs_backup ? "back up and apply" : "apply") +
                           " the approved evidence in " + env,
                       env, Owner::driver, driver_of(state));
    }
    return step_of("none", "nothing: the change is applied everywhere", "", Owner::nobody, 0);
}

Consequences consequences(const RequestState& state, const WorkflowConfig& config) {
    Consequences c;
    for (const model::Approval& approval : state.approvals) {
        if (!approval.voided) {
            c.voided.push_back(approval);
        }
    }
    c.held = held_changes(state, config);
    return c;
}

}  // namespace datafix::workflow
