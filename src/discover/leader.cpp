// The runbook's "select the leader pod" steps, in its order: project, get pods, then connect.
#include "discover/leader.hpp"

#include <vector>

#include "core/error.hpp"
#include "discover/client_command.hpp"
#include "discover/conninfo.hpp"

namespace datafix::discover {

namespace {

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
        text.pop_back();
    }
    const auto first = text.find_first_not_of(" \n");
    return first == std::string::npos ? std::string{} : text.substr(first);
}

// Runs one client command; a failure or a timeout is Error(unreachable) quoting the client.
std::string run_or_throw(const std::vector<std::string>& argv, const PodTarget& target) {
    const CommandResult r = run_command(argv, target.timeout);
    if (r.timed_out) {
        throw Error(ErrorCode::unreachable,
                    "`" + command_text(argv) + "` did not answer within " +
                        std::to_string(target.timeout.count()) + " ms",
                    "check the connection to the cluster's API server, then retry");
    }
    if (r.exit_status != 0) {
        throw Error(
            ErrorCode::unreachable,
            "`" + command_text(argv) + "` failed (exit status " + std::to_string(r.exit_status) +
                "): " + trimmed(r.err + r.out),
            "check that the datafix server is logged in to the cluster (" +
                std::string(target.platform == Platform::openshift ? "oc whoami"
                                                                   : "kubectl auth whoami") +
                ") and may list pods in namespace " + target.namespace_name);
    }
    return r.out;
}

}  // namespace

std::string client_namespace(const PodTarget& target, const std::string& client_path) {
    if (target.platform == Platform::openshift) {
        return trimmed(run_or_throw({client_path, "project", "-q"}, target));
    }
    const std::string ns = trimmed(run_or_throw(
        {client_path, "config", "view", "--minify", "-o", "jsonpath={..namespace}"}, target));
    return ns.empty() ? "default" : ns;  // kubectl's own rule for a context without namespace
}

ForwardedLeader find_leader(const PodTarget& target) {
    const std::string client = find_client(effective_client(target), target.search_path);
    const std::string ns = target.namespace_name;

    // The runbook's `oc project <ns>` guardrail: the client's own idea of where it is must agree
    // with the configuration, even though every command below also passes -n.
    const std::string current = client_namespace(target, client);
    if (current != ns) {
        const bool openshift = target.platform == Platform::openshift;
        throw Error(ErrorCode::target_refused,
                    std::string(openshift ? "the client's current project"
                                          : "the client's current "
                                            "context namespace") +
                        " is \"" + current + "\", but this environment is namespace " + ns,
                    openshift
                        ? "run `oc project " + ns + "` as the datafix server's user, then retry"
                        : "run `kubectl config set-context --current --namespace=" + ns +
                              "` as the datafix server's user, then retry");
    }

    const std::string selector = effective_selector(target);
    const std::string listing =
        run_or_throw({client, "-n", ns, "get", "pods", "-l", selector, "-o", "json"}, target);
    LeaderChoice choice = choose_leader_pod(parse_pod_list(listing), ns, selector);
    if (!choice.leader) {
        throw Error(ErrorCode::target_refused, choice.refusal, choice.hint);
    }

    PortForward forward(
        PortForwardSpec{client, ns, choice.leader->name, target.port, target.timeout});
    std::string conninfo = forwarded_conninfo(target.conninfo, forward.local_port());
    return ForwardedLeader(std::move(*choice.leader), std::move(forward), std::move(conninfo));
}

}  // namespace datafix::discover
