// Leader discovery for an OpenShift / Kubernetes environment, the runbook's steps as one call:
// check the client's current project, list the pods matching the leader selector in the
// configured namespace, require exactly one running and ready leader, port-forward to it, and
// hand back a conninfo for that forward. The server calls this at every step of a request, so a
// failover between two steps is followed to the new leader; the target session then checks
// pg_is_in_recovery() and the pinned system identifier as for any conninfo.
#pragma once

#include <string>

#include "discover/pod_list.hpp"
#include "discover/pod_target.hpp"
#include "discover/port_forward.hpp"

namespace datafix::discover {

// The leader as reached through a running port-forward. Keep it alive as long as the connection
// made with conninfo() is in use; destroying it stops the forward.
class ForwardedLeader {
  public:
    ForwardedLeader(PodStatus pod, PortForward forward, std::string conninfo)
        : pod_(std::move(pod)), forward_(std::move(forward)), conninfo_(std::move(conninfo)) {}

    // host=127.0.0.1 port=<forwarded> and the environment's other conninfo parameters.
    const std::string& conninfo() const { return conninfo_; }
    const PodStatus& pod() const { return pod_; }
    PortForward& forward() { return forward_; }

  private:
    PodStatus pod_;
    PortForward forward_;
    std::string conninfo_;
};

// The current namespace as the client sees it (`oc project -q`, or the current context's
// namespace from `kubectl config view --minify`, "default" when it names none).
std::string client_namespace(const PodTarget& target, const std::string& client_path);

// Throws Error(config) when the client is missing, Error(unreachable) when a client command
// fails or times out (quoting its stderr) or the forward does not come up, Error(target_refused)
// when the client's namespace differs or there is not exactly one leader pod (naming what was
// found), Error(invalid_input) when the client's answer is not a pod list.
ForwardedLeader find_leader(const PodTarget& target);

}  // namespace datafix::discover
