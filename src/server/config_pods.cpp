// Reading an environment's leader-discovery section with discover's own reader.
#include "server/config_pods.hpp"

#include "core/error.hpp"

namespace datafix::server {

std::optional<discover::PodTarget> read_pod_section(const toml::node* openshift,
                                                    const toml::node* kubernetes,
                                                    const std::string& conninfo,
                                                    const std::string& key_prefix,
                                                    const std::string& environment) {
    if (openshift != nullptr && kubernetes != nullptr) {
        throw Error(ErrorCode::config,
                    key_prefix +
                        ": has both [openshift] and [kubernetes]; an environment has "
                        "one target",
                    "keep the section of the platform the database runs on");
    }
    const toml::node* node = openshift != nullptr ? openshift : kubernetes;
    if (node == nullptr) {
        return std::nullopt;
    }
    discover::Platform platform =
        openshift != nullptr ? discover::Platform::openshift : discover::Platform::kubernetes;
    std::string key = key_prefix + "." + std::string(discover::platform_name(platform));
    const toml::table* table = node->as_table();
    if (table == nullptr) {
        throw Error(ErrorCode::config,
                    key + ": must be a table ([environment." +
                        std::string(discover::platform_name(platform)) + "])",
                    "fix the key in the configuration file (see examples/datafix.toml)");
    }
    return discover::read_pod_target(*table, platform, conninfo, key, environment);
}

}  // namespace datafix::server
