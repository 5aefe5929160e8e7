// An environment whose database runs in OpenShift or Kubernetes: which namespace, which pods are
// the leader (a label selector), which container port, and which client binary to ask. The
// runbook names the namespace twice (`oc project` and `-n`) so a slip cannot reach the wrong
// environment; datafix keeps that guardrail and checks both against this configuration.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include <toml++/toml.h>

namespace datafix::discover {

enum class Platform { openshift, kubernetes };

std::string_view platform_name(Platform platform) noexcept;  // "openshift", "kubernetes"

struct PodTarget {
    Platform platform = Platform::openshift;
    std::string namespace_name;  // required: "ff61fb-prod"
    std::string cluster;         // the PGO cluster name; only used to build the default selector
    std::string selector;        // empty: the Crunchy PGO leader labels of `cluster`
    int port = 5432;             // the container port PostgreSQL listens on
    std::string client;          // empty: "oc" or "kubectl"; a bare name is looked up on PATH
    // Bounds every client command (`get pods`, `project -q`) and the wait for the port-forward to
    // accept connections: a hung API server must not hang a request.
    std::chrono::milliseconds timeout{std::chrono::seconds{30}};
    // The environment's conninfo without host and port (dbname, user, sslmode, passfile, ...);
    // the forwarded host and port are added to it.
    std::string conninfo;
    // Where a bare client name is looked up; empty means the PATH of this process.
    std::string search_path;
};

// "postgres-operator.crunchydata.com/cluster=<cluster>,postgres-operator.crunchydata.com/role=master"
std::string default_leader_selector(std::string_view cluster);

// The selector actually used (the configured one, or the default for `cluster`).
std::string effective_selector(const PodTarget& target);
// The client actually run (the configured one, or the platform's usual binary).
std::string effective_client(const PodTarget& target);

// Reads `[environment.openshift]` or `[environment.kubernetes]`: namespace (required), cluster
// (required unless selector is given), selector, port, client, timeout (whole seconds). Unknown
// keys are refused. `key_prefix` names the table in messages ("datafix.toml:
// environment[2].openshift"). `conninfo` is the environment's own conninfo; it must not name a host
// or port. Throws Error(config) naming the key at fault.
PodTarget read_pod_target(const toml::table& table, Platform platform, std::string conninfo,
                          const std::string& key_prefix);

}  // namespace datafix::discover
