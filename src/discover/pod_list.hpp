// What `<client> get pods -o json`, or the Kubernetes API's pod list, says about the candidate
// leader pods, and the choice of the one leader. Both ways of reaching a cluster share this, so
// the leader rules are the same whichever is configured. Pure (no processes, no network), so
// every refusal is testable from a JSON document alone.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace datafix::discover {

struct PodStatus {
    std::string name;
    std::string namespace_name;
    std::map<std::string, std::string> labels;
    std::string phase;         // status.phase: "Running", "Pending", "Failed", ...
    bool ready = false;        // the Ready condition is "True"
    bool terminating = false;  // metadata.deletionTimestamp is set: a leader on its way out
    std::string pod_ip;        // status.podIP: where an in-cluster datafix connects

    bool eligible() const { return phase == "Running" && ready && !terminating; }
    // "ccbc-instance1-x7k2-0 (Running, not ready)", for messages.
    std::string describe() const;
};

// Parses a `kind: List` (the clients) or `PodList` (the API) document. Throws Error(invalid_input)
// when the text is not such a document: a client that answers something else must not be guessed
// at.
std::vector<PodStatus> parse_pod_list(std::string_view json);

struct LeaderChoice {
    std::optional<PodStatus> leader;  // set when exactly one pod is eligible
    std::string refusal;              // otherwise: what was found, for Error(target_refused)
    std::string hint;
};

// Exactly one running, ready, not terminating pod, in `namespace_name`, carrying every label
// that the equality terms of `selector` require. Any pod from another namespace refuses the
// whole answer: the client was not talking about the namespace datafix asked for.
LeaderChoice choose_leader_pod(const std::vector<PodStatus>& pods, std::string_view namespace_name,
                               std::string_view selector);

}  // namespace datafix::discover
