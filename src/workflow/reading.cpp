// Reading a request's state: runs, approvals, the claim.
#include "workflow/reading.hpp"

#include <algorithm>

namespace datafix::workflow::reading {

using model::ApprovalKind;
using model::RequestState;
using model::Run;
using model::RunKind;
using model::RunState;

bool lease_active(const RequestState& state, model::Time now) {
    return state.claim.has_value() && now < state.claim->lease_expires_at;
}

bool is_driver(const RequestState& state, model::UserId id) {
    return state.claim.has_value() && state.claim->driver == id;
}

bool is_pair(const RequestState& state, model::UserId id) {
    return state.pair.has_value() && state.pair->pair == id;
}

bool is_member(const RequestState& state, model::UserId id) {
    if (id == 0) {
        return false;
    }
    auto in = [id](const std::vector<model::UserId>& people) {
        return std::find(people.begin(), people.end(), id) != people.end();
    };
    return state.request.requested_by == id || state.request.created_by == id ||
           is_driver(state, id) || is_pair(state, id) || in(state.participants.drove) ||
           in(state.participants.paired) || in(state.participants.product_owners);
}

const Run* find_run(const RequestState& state, int number) {
    for (const Run& run : state.runs) {
        if (run.number == number) {
            return &run;
        }
    }
    return nullptr;
}

const Run* running_run(const RequestState& state) {
    for (const Run& run : state.runs) {
        if (run.state == RunState::running) {
            return &run;
        }
    }
    return nullptr;
}

const Run* in_doubt_run(const RequestState& state, std::string_view environment) {
    for (const Run& run : state.runs) {
        if (run.state == RunState::in_doubt && run.environment == environment) {
            return &run;
        }
    }
    return nullptr;
}

const Run* any_in_doubt_run(const RequestState& state) {
    for (const Run& run : state.runs) {
        if (run.state == RunState::in_doubt) {
            return &run;
        }
    }
    return nullptr;
}

namespace {
// A committed live run is the environment's apply.
bool is_kind(const Run& run, RunKind kind) {
    return run.kind == kind || (kind == RunKind::apply && run.kind == RunKind::live);
}

const Run* latest(const RequestState& state, std::string_view environment, int revision,
                  RunKind kind) {
    const Run* found = nullptr;
    for (const Run& run : state.runs) {
        if (is_kind(run, kind) && run.state == RunState::succeeded &&
            run.environment == environment && run.revision == revision) {
            found = &run;
        }
    }
    return found;
}
}  // namespace

const Run* latest_evidence(const RequestState& state, std::string_view environment, int revision) {
    return latest(state, environment, revision, RunKind::preview);
}

const Run* applied_run(const RequestState& state, std::string_view environment, int revision) {
    return latest(state, environment, revision, RunKind::apply);
}

bool reverted(const RequestState& state, const Run& apply) {
    for (const Run& run : state.runs) {
        if (run.kind == RunKind::revert && run.state == RunState::succeeded &&
            run.applies_run == apply.number) {
            return true;
        }
    }
    return false;
}

const Run* open_live_run(const RequestState& state, std::string_view environment) {
    for (const Run& run : state.runs) {
        if (run.kind == RunKind::live && run.state == RunState::running &&
            run.environment == environment) {
            return &run;
        }
    }
    return nullptr;
}

bool live_approved(const RequestState& state, const Run& run) {
    if (run.kind != RunKind::live || run.fingerprint.empty()) {
        return false;
    }
    const model::Approval* approval = valid_approval(state, ApprovalKind::evidence, run.environment,
                                                     run.revision, run.fingerprint);
    return approval != nullptr && approval->approved_at >= run.started_at;
}

const Run* revertable_apply(const RequestState& state, std::string_view environment) {
    const Run* found = nullptr;
    for (const Run& run : state.runs) {
        if (is_kind(run, RunKind::apply) && run.state == RunState::succeeded &&
            run.environment == environment) {
            found = &run;
        }
    }
    if (found == nullptr || reverted(state, *found)) {
        return nullptr;
    }
    return found;
}

const model::Approval* valid_approval(const RequestState& state, ApprovalKind kind,
                                      std::string_view environment, int revision,
                                      std::string_view fingerprint) {
    for (const model::Approval& approval : state.approvals) {
        if (!approval.voided && approval.kind == kind && approval.environment == environment &&
            approval.revision == revision && approval.fingerprint == fingerprint) {
            return &approval;
        }
    }
    return nullptr;
}

bool product_owner_approved(const RequestState& state, int revision) {
    for (const model::Approval& approval : state.approvals) {
        if (!approval.voided && approval.kind == ApprovalKind::product_owner &&
            approval.revision == revision) {
            return true;
        }
    }
    return false;
}

const model::Comment* pending_changes_request(const RequestState& state) {
    const model::Revision* revision = state.current_revision();
    if (revision == nullptr) {
        return nullptr;
    }
    const model::Comment* asked = nullptr;
    for (const model::Comment& c : state.comments) {
        if (c.kind == model::CommentKind::changes_requested && c.revision == revision->number) {
            asked = &c;
        }
    }
    if (asked == nullptr) {
        return nullptr;
    }
    for (const Run& run : state.runs) {
        if (run.number > asked->after_run &&
            (run.kind == RunKind::preview || run.kind == RunKind::live) &&
            run.revision == revision->number) {
            return nullptr;  // the driver answered with a new preview
        }
    }
    return asked;
}

}  // namespace datafix::workflow::reading
