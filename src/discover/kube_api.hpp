// The Kubernetes API as seen from inside a pod: list the pods that match a label selector in one
// namespace, with the pod's service account. One GET per call, no watch: the server asks again
// at every step, so a switchover between two steps is seen by the next list.
//   GET <api_server>/api/v1/namespaces/<ns>/pods?labelSelector=<selector>
//   Authorization: Bearer <token read now from <service_account_dir>/token>
// over HTTPS (libcurl) verified against <service_account_dir>/ca.crt; verification is never
// turned off. Every failure names the environment and says what to fix.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "discover/pod_list.hpp"
#include "discover/pod_target.hpp"

namespace datafix::discover {

// The path and query of the pod list request (the selector URL-encoded).
std::string pod_list_path(std::string_view namespace_name, std::string_view selector);

// The pods the API lists for `selector` in target.namespace_name (parsed with parse_pod_list).
// Throws Error(config) when the token or CA file cannot be read or api_server is empty,
// Error(unreachable) when the API cannot be reached, its certificate does not verify, it does
// not answer in target.timeout, or it answers other than 200 (401: the token; 403: the RBAC
// verb missing; 404: not the API or no such namespace; quoting the API's Status message), and
// Error(invalid_input) when a 200 answer is not a pod list.
std::vector<PodStatus> list_pods_in_cluster(const PodTarget& target, std::string_view selector);

}  // namespace datafix::discover
