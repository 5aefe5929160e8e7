// Where a request stands, per environment, for `datafix show` and the web page: derived from
// the state by the same reading the rules use, so what people see is what the rules decide on.
#pragma once

#include <string>
#include <vector>

#include "ledger/request_state.hpp"
#include "ledger/time.hpp"
#include "workflow/config.hpp"

namespace datafix::workflow {

enum class Stage {
    waiting,    // an earlier environment is not applied yet (with the current revision)
    ready,      // may be previewed
    running,    // a run is in progress
    in_doubt,   // an apply or revert has an unknown outcome: resolve first
    previewed,  // evidence recorded, not approved yet
    approved,   // the pair approved the latest evidence: may be applied
    applied,    // applied with the current revision
    reverted,   // applied, then reverted
};

std::string_view stage_name(Stage stage);

struct EnvironmentProgress {
    std::string name;
    Stage stage = Stage::waiting;
    int preview_run = 0;      // latest succeeded preview of the current revision, 0 if none
    std::string fingerprint;  // its evidence fingerprint
    int apply_run = 0;        // the succeeded apply of the current revision, 0 if none
};

struct Progress {
    int revision = 0;
    std::string revision_hash;
    bool lease_active = false;
    bool product_owner_approved = false;  // for the current revision
    std::vector<EnvironmentProgress> environments;
};

Progress summarize(const ledger::RequestState& state, const WorkflowConfig& config,
                   ledger::Time now);

}  // namespace datafix::workflow
