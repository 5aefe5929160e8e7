// An environment whose database runs in OpenShift or Kubernetes: which namespace, which pods are
// the leader (a label selector), which container port, and which client binary to ask. The
// runbook names the namespace twice (`oc project` and `-n`) so a slip cannot reach the wrong
// environment; datafix keeps that guardrail and checks both against this configuration.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

// toml++'s table (version 3, Debian 12), declared rather than included: this header reaches most
// of the server, and only the configuration reader (server/config*.cpp) parses TOML.
namespace toml {
inline namespace v3 {
class table;
}  // namespace v3
}  // namespace toml

namespace datafix::discover {

enum class Platform { openshift, kubernetes };

std::string_view platform_name(Platform platform) noexcept;  // "openshift", "kubernetes"

// How the cluster is reached. `client`: the `oc` / `kubectl` binary with the environment's own
// kubeconfig and context, and a port-forward to the leader. `in_cluster`: datafix runs in a pod
// and asks the Kubernetes API itself (the pod's service account), then connects to the leader
// pod's IP directly; no client binary and no port-forward.
enum class AccessMode { client, in_cluster };

std::string_view access_mode_name(AccessMode mode) noexcept;  // "client", "in-cluster"

// Where Kubernetes mounts a pod's service account token and the cluster's CA certificate.
inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

struct PodTarget {
    Platform platform = Platform::openshift;
    AccessMode mode = AccessMode::client;
    std::string environment;     // the environment's name ("prod"), for messages
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

    // Client mode: passed to every command as --kubeconfig and --context, so each environment
    // names its own cluster login; empty leaves the client's default (KUBECONFIG, then
    // ~/.kube/config) and that file's current context. The namespace is always passed with -n:
    // the client's "current project" is never consulted.
    std::string kubeconfig;
    std::string context;

    // In-cluster mode: the service account's token and CA (`token`, `ca.crt` in this folder; the
    // token is read again at every step because Kubernetes rotates it), and the API server's
    // URL, "https://<KUBERNETES_SERVICE_HOST>:<KUBERNETES_SERVICE_PORT>" (read with the
    // configuration when they are set; else asked for again at each step, so `datafix init` and
    // other commands may read the file outside a pod).
    std::string service_account_dir = kServiceAccountDir;
    std::string api_server;
};

// "postgres-operator.crunchydata.com/cluster=<cluster>,postgres-operator.crunchydata.com/role=master"
std::string default_leader_selector(std::string_view cluster);

// The selector actually used (the configured one, or the default for `cluster`).
std::string effective_selector(const PodTarget& target);
// The client actually run (the configured one, or the platform's usual binary).
std::string effective_client(const PodTarget& target);

// The API server's URL from the variables Kubernetes sets in every pod; Error(config) naming the
// environment when they are missing (datafix is not running in a pod).
std::string api_server_from_environment(const std::string& environment);

// Reads `[environment.openshift]` or `[environment.kubernetes]`: namespace (required), cluster
// (required unless selector is given), selector, port, timeout (whole seconds), mode ("client",
// the default, or "in-cluster"); in client mode client, kubeconfig (an absolute path) and
// context; in in-cluster mode service_account (the folder of token and ca.crt). Unknown keys,
// and keys of the other mode, are refused. `key_prefix` names the table in messages
// ("datafix.toml: environment[2].openshift"), `environment` the environment by name. `conninfo` is
// the environment's own conninfo; it must not name a host or port. Throws Error(config) naming
// the key at fault.
PodTarget read_pod_target(const toml::table& table, Platform platform, std::string conninfo,
                          const std::string& key_prefix, const std::string& environment);

}  // namespace datafix::discover
