// Defaults and the `[environment.openshift]` / `[environment.kubernetes]` table of datafix.toml.
#include "discover/pod_target.hpp"

#include <toml++/toml.h>

#include <cctype>
#include <cstdlib>
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

std::string_view access_mode_name(AccessMode mode) noexcept {
    return mode == AccessMode::in_cluster ? "in-cluster" : "client";
}

std::string api_server_from_environment(const std::string& environment) {
    const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
    const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
    if (host == nullptr || *host == '\0' || port == nullptr || *port == '\0') {
        throw Error(ErrorCode::config,
                    "environment " + environment +
                        ": mode = \"in-cluster\" needs KUBERNETES_SERVICE_HOST and "
                        "KUBERNETES_SERVICE_PORT, which Kubernetes sets in every pod, but this "
                        "process has " +
                        (host == nullptr || *host == '\0' ? "no KUBERNETES_SERVICE_HOST"
                                                          : "no KUBERNETES_SERVICE_PORT"),
                    "run the datafix server in a pod of the cluster, or use mode = \"client\" "
                    "with a kubeconfig and context for this environment");
    }
    const std::string h(host);
    // An IPv6 service address needs brackets in a URL.
    const bool ipv6 = h.find(':') != std::string::npos && h.front() != '[';
    return "https://" + (ipv6 ? "[" + h + "]" : h) + ":" + port;
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
                          const std::string& key_prefix, const std::string& environment) {
    const std::set<std::string, std::less<>> known = {
        "namespace", "cluster", "selector",   "port",    "client",
        "timeout",   "mode",    "kubeconfig", "context", "service_account"};
    for (const auto& [k, v] : table) {
        if (!known.contains(k.str())) {
            throw config_error(key_prefix + "." + std::string(k.str()), "unknown key");
        }
    }
    auto key = [&](std::string_view name) { return key_prefix + "." + std::string(name); };

    PodTarget target;
    target.platform = platform;
    target.environment = environment;
    const std::string mode = read_string(table, "mode", key("mode"));
    if (mode.empty() || mode == "client") {
        target.mode = AccessMode::client;
    } else if (mode == "in-cluster") {
        target.mode = AccessMode::in_cluster;
    } else {
        throw config_error(key("mode"), "\"" + mode + R"(" is not "client" or "in-cluster")");
    }
    // A key of the other mode would be silently ignored; refusing it keeps the file honest.
    const bool in_cluster = target.mode == AccessMode::in_cluster;
    for (const char* client_only : {"client", "kubeconfig", "context"}) {
        if (in_cluster && table.contains(client_only)) {
            throw config_error(key(client_only),
                               "is for mode = \"client\"; in-cluster mode asks the Kubernetes API "
                               "with the pod's service account");
        }
    }
    if (!in_cluster && table.contains("service_account")) {
        throw config_error(key("service_account"), "is for mode = \"in-cluster\"");
    }

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
    target.kubeconfig = read_string(table, "kubeconfig", key("kubeconfig"));
    if (!target.kubeconfig.empty() && target.kubeconfig.front() != '/') {
        throw config_error(key("kubeconfig"),
                           "must be an absolute path (the server's working directory is not the "
                           "operator's)");
    }
    target.context = read_string(table, "context", key("context"));
    if (table.contains("context") && target.context.empty()) {
        throw config_error(key("context"), "must name a context of the kubeconfig");
    }
    const std::string service_account =
        read_string(table, "service_account", key("service_account"));
    if (!service_account.empty()) {
        if (service_account.front() != '/') {
            throw config_error(key("service_account"), "must be an absolute path");
        }
        target.service_account_dir = service_account;
    }
    if (in_cluster && std::getenv("KUBERNETES_SERVICE_HOST") != nullptr &&
        std::getenv("KUBERNETES_SERVICE_PORT") != nullptr) {
        target.api_server = api_server_from_environment(environment);
    }
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
