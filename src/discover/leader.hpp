// Leader discovery for an OpenShift / Kubernetes environment, the runbook's steps as one call:
// list the pods matching the leader selector in the configured namespace, require exactly one
// running and ready leader, and hand back a conninfo that reaches it. Two ways, chosen per
// environment (PodTarget::mode), with the same pod-list parsing and leader rules:
//  - client: `oc` / `kubectl` with the environment's own --kubeconfig, --context and -n, then a
//    port-forward to the leader;
//  - in-cluster: the Kubernetes API with the pod's service account, then the leader pod's IP and
//    the configured port directly.
// The server calls this at every step of a request, so a failover between two steps is followed
// to the new leader; the target session then checks pg_is_in_recovery() and the pinned system
// identifier as for any conninfo.
#pragma once

#include <optional>
#include <string>

#include "discover/pod_list.hpp"
#include "discover/pod_target.hpp"
#include "discover/port_forward.hpp"

namespace datafix::discover {

// The leader, and how to reach it: through a running port-forward (client mode) or at its pod
// IP (in-cluster mode). Keep it alive as long as the connection made with conninfo() is in use;
// destroying it stops the forward, if there is one.
class ReachedLeader {
  public:
    ReachedLeader(PodStatus pod, std::optional<PortForward> forward, std::string conninfo)
        : pod_(std::move(pod)), forward_(std::move(forward)), conninfo_(std::move(conninfo)) {}

    // host=127.0.0.1 port=<forwarded>, or host=<pod IP> port=<port>, and the environment's other
    // conninfo parameters.
    const std::string& conninfo() const { return conninfo_; }
    const PodStatus& pod() const { return pod_; }
    bool has_forward() const { return forward_.has_value(); }
    // The port-forward; only when has_forward().
    PortForward& forward() { return forward_.value(); }

  private:
    PodStatus pod_;
    std::optional<PortForward> forward_;
    std::string conninfo_;
};

// Throws Error(config) when the client, or in-cluster the service account or API server, is
// missing; Error(unreachable) when a client command or the API fails or times out (quoting what
// it said) or the forward does not come up; Error(target_refused) when there is not exactly one
// leader pod in the configured namespace (naming what was found); Error(invalid_input) when the
// answer is not a pod list.
ReachedLeader find_leader(const PodTarget& target);

}  // namespace datafix::discover
