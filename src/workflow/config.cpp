// The runbook's standard environments and lookups by name.
#include "workflow/config.hpp"

namespace datafix::workflow {

WorkflowConfig WorkflowConfig::standard() {
    WorkflowConfig config;
    config.environments.push_back(EnvironmentRules{.name = "dev"});
    config.environments.push_back(EnvironmentRules{.name = "test"});
    config.environments.push_back(
        EnvironmentRules{.name = "prod", .production = true, .needs_product_owner_approval = true});
    return config;
}

const EnvironmentRules* WorkflowConfig::find(std::string_view name) const {
    int index = index_of(name);
    return index < 0 ? nullptr : &environments[static_cast<std::size_t>(index)];
}

int WorkflowConfig::index_of(std::string_view name) const {
    for (std::size_t i = 0; i < environments.size(); ++i) {
        if (environments[i].name == name) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

}  // namespace datafix::workflow
