// Defaults and the `[environment.openshift]` / `[environment.kubernetes]` table of datafix.toml.
#include "discover/pod_target.hpp"

#include <cctype>
#include <set>

#include "core/error.hpp"
#include "discover/conninfo.hpp"

namespace datafix::discover {

namespace {

Error config_error(const std::string& key, const std::string& what) {
    return Error(ErrorCode::config, key + ": " + what,
                 "fix the key in the configuration file (see examples/datafix.toml)");
}

// A namespace is a DNS label; checking it here keeps a typo such as "ff61fb-prod " from reaching
// the client, where it would only surface as "no pods found".
bool is_dns_label(std::string_view name) {
    if (name.empty() || name.size() > 63 || name.front() == '-' || name.back() == '-') {
        return false;
    }
    for (char c : name) {
        if (!(std::islower(static_cast<unsigned char>(c)) ||
              std::isdigit(static_cast<unsigned char>(c)) || c == '-')) {
            return false;
        }
    }
    return true;
}

std::string read_string(const toml::table& table, std::string_view name, const std::string& key) {
    const toml::node* node = table.get(name);
    if (node == nullptr) {
        return {};
    }
    if (!node->is_string()) {
        throw config_error(key, "must be a string");
    }
    return *node->value<std::string>();
}

std::int64_t read_integer(const toml::table& table, std::string_view name, const std::string& key,
                          std::int64_t fallback) {
    const toml::node* node = table.get(name);
    if (node == nullptr) {
        return fallback;
    }
    if (!node->is_integer()) {
        throw config_error(key, "must be an integer");
    }
    return *node->value<std::int64_t>();
}

}  // namespace

std::string_view platform_name(Platform platform) noexcept {
    switch (platform) {
        case Platform::openshift:
            return "openshift";
        case Platform::kubernetes:
            return "kubernetes";
    }
    return "openshift";  // unreachable: the switch names every value
}

std::string default_leader_selector(std::string_view cluster) {
    return "postgres-operator.crunchydata.com/cluster=" + std::string(cluster) +
           ",postgres-operator.crunchydata.com/role=master";
}

std::string effective_selector(const PodTarget& target) {
    return target.selector.empty() ? default_leader_selector(target.cluster) : target.selector;
}

std::string effective_client(const PodTarget& target) {
    if (!target.client.empty()) {
        return target.client;
    }
    return target.platform == Platform::openshift ? "oc" : "kubectl";
}

PodTarget read_pod_target(const toml::table& table, Platform platform, std::string conninfo,
                          const std::string& key_prefix) {
    const std::set<std::string, std::less<>> known = {"namespace", "cluster", "selector",
                                                      "port",      "client",  "timeout"};
    for (const auto& [k, v] : table) {
        if (!known.contains(k.str())) {
            throw config_error(key_prefix + "." + std::string(k.str()), "unknown key");
        }
    }
    auto key = [&](std::string_view name) { return key_prefix + "." + std::string(name); };

    PodTarget target;
    target.platform = platform;
    target.namespace_name = read_string(table, "namespace", key("namespace"));
    if (target.namespace_name.empty()) {
        throw config_error(key("namespace"), "is required (the namespace of the database pods)");
    }
    if (!is_dns_label(target.namespace_name)) {
        throw config_error(key("namespace"),
                           "\"" + target.namespace_name +
                               "\" is not a namespace name (lowercase letters, digits and '-')");
    }
    target.cluster = read_string(table, "cluster", key("cluster"));
    target.selector = read_string(table, "selector", key("selector"));
    if (target.cluster.empty() && target.selector.empty()) {
        throw config_error(key("cluster"),
                           "is required unless a selector is given (the leader pods are found by "
                           "the labels of this PostgreSQL cluster)");
    }
    const std::int64_t port = read_integer(table, "port", key("port"), target.port);
    if (port < 1 || port > 65535) {
        throw config_error(key("port"), "must be a TCP port (1 to 65535)");
    }
    target.port = static_cast<int>(port);
    target.client = read_string(table, "client", key("client"));
    const std::int64_t seconds = read_integer(table, "timeout", key("timeout"), 30);
    if (seconds <= 0) {
        throw config_error(key("timeout"), "must be a positive number of seconds");
    }
    target.timeout = std::chrono::seconds{seconds};
    check_conninfo_without_host(conninfo, key_prefix + " (the environment's conninfo)");
    target.conninfo = std::move(conninfo);
    return target;
}

}  // namespace datafix::discover
