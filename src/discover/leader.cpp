// The runbook's "select the leader pod" steps, in its order: list the pods, choose the one
// leader, then reach it (a port-forward, or its pod IP from inside the cluster).
#include "discover/leader.hpp"

#include <vector>

#include "core/error.hpp"
#include "discover/client_command.hpp"
#include "discover/conninfo.hpp"
#include "discover/kube_api.hpp"

namespace datafix::discover {

namespace {

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
        text.pop_back();
    }
    const auto first = text.find_first_not_of(" \n");
    return first == std::string::npos ? std::string{} : text.substr(first);
}

std::string in_env(const PodTarget& target) {
    return target.environment.empty() ? std::string{} : "environment " + target.environment + ": ";
}

// How to check the client's login to this environment's cluster, for hints.
std::string whoami(const PodTarget& target) {
    std::vector<std::string> argv =
        cluster_arguments(target.platform == Platform::openshift ? "oc" : "kubectl",
                          target.kubeconfig, target.context, target.namespace_name);
    argv.erase(argv.end() - 2, argv.end());  // whoami takes no namespace
    if (target.platform == Platform::openshift) {
        argv.emplace_back("whoami");
    } else {
        argv.insert(argv.end(), {"auth", "whoami"});
    }
    return command_text(argv);
}

// Runs one client command; a failure or a timeout is Error(unreachable) quoting the client.
std::string run_or_throw(const std::vector<std::string>& argv, const PodTarget& target) {
    const CommandResult r = run_command(argv, target.timeout);
    if (r.timed_out) {
        throw Error(ErrorCode::unreachable,
                    in_env(target) + "`" + command_text(argv) + "` did not answer within " +
                        std::to_string(target.timeout.count()) + " ms",
                    "check the connection to the cluster's API server, then retry");
    }
    if (r.exit_status != 0) {
        throw Error(ErrorCode::unreachable,
                    in_env(target) + "`" + command_text(argv) + "` failed (exit status " +
                        std::to_string(r.exit_status) + "): " + trimmed(r.err + r.out),
                    "check that the datafix server is logged in to this environment's cluster (" +
                        whoami(target) + ") and may list pods in namespace " +
                        target.namespace_name);
    }
    return r.out;
}

PodStatus choose_or_throw(const std::vector<PodStatus>& pods, const PodTarget& target,
                          const std::string& selector) {
    LeaderChoice choice = choose_leader_pod(pods, target.namespace_name, selector);
    if (!choice.leader) {
        throw Error(ErrorCode::target_refused, in_env(target) + choice.refusal, choice.hint);
    }
    return std::move(*choice.leader);
}

ReachedLeader through_client(const PodTarget& target, const std::string& selector) {
    const std::string client = find_client(effective_client(target), target.search_path);
    std::vector<std::string> list =
        cluster_arguments(client, target.kubeconfig, target.context, target.namespace_name);
    list.insert(list.end(), {"get", "pods", "-l", selector, "-o", "json"});
    PodStatus leader =
        choose_or_throw(parse_pod_list(run_or_throw(list, target)), target, selector);

    PortForward forward(PortForwardSpec{client, target.namespace_name, leader.name, target.port,
                                        target.timeout, target.kubeconfig, target.context});
    std::string conninfo = forwarded_conninfo(target.conninfo, forward.local_port());
    return ReachedLeader(std::move(leader), std::move(forward), std::move(conninfo));
}

ReachedLeader in_cluster(const PodTarget& target, const std::string& selector) {
    PodStatus leader = choose_or_throw(list_pods_in_cluster(target, selector), target, selector);
    if (leader.pod_ip.empty()) {
        throw Error(ErrorCode::target_refused,
                    in_env(target) + "the leader pod " + leader.name + " in namespace " +
                        target.namespace_name + " has no IP address (status.podIP) yet",
                    "wait until the pod has started, then retry");
    }
    std::string conninfo = leader_conninfo(target.conninfo, leader.pod_ip, target.port);
    return ReachedLeader(std::move(leader), std::nullopt, std::move(conninfo));
}

}  // namespace

ReachedLeader find_leader(const PodTarget& target) {
    const std::string selector = effective_selector(target);
    if (target.mode == AccessMode::in_cluster) {
        return in_cluster(target, selector);
    }
    return through_client(target, selector);
}

}  // namespace datafix::discover
