// The workflow's configuration: environments in promotion order and what each one requires,
// and the claim lease. Built by the server from datafix.toml; WorkflowConfig::standard() is the
// runbook's dev -> test -> prod.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace datafix::workflow {

struct EnvironmentRules {
    std::string name;
    // Reverting it is an emergency: it needs a new pair approval of the revert.
    bool production = false;
    // The requesting product owner approves (naming the revision hash) before its preview.
    bool needs_product_owner_approval = false;
    // A verified backup, taken after the previous environment's apply and at most
    // backup_max_age old, before its apply (issue 5 supplies the backups; default off).
    bool needs_backup = false;
    std::chrono::minutes backup_max_age{60};
    // Live mode (off by default): the driver runs the change once and holds its transaction
    // open for at most live_window while the pair looks; the pair's approval commits it.
    bool live = false;
    std::chrono::milliseconds live_window{std::chrono::minutes{2}};
};

struct WorkflowConfig {
    std::vector<EnvironmentRules> environments;  // promotion order; the last one ends the request
    std::chrono::milliseconds lease{std::chrono::minutes{30}};  // claim idle time
    // [auth] confirm_accounts: an account an admin created counts for that admin, for four eyes,
    // until a second admin confirms it (accounts.hpp).
    bool confirm_accounts = false;

    // dev, test, prod; prod is production and needs the product owner; backups off; 30 min lease.
    static WorkflowConfig standard();

    const EnvironmentRules* find(std::string_view name) const;
    // Position in the promotion order, or -1.
    int index_of(std::string_view name) const;
};

}  // namespace datafix::workflow
