// Reading the pod list with nlohmann-json and choosing the leader; every refusal names what was
// found so the person at the keyboard can compare it with `oc get pods`.
#include "discover/pod_list.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <iterator>

#include "core/error.hpp"

namespace datafix::discover {

namespace {

std::string trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) {
        return {};
    }
    const auto last = text.find_last_not_of(" \t");
    return std::string(text.substr(first, last - first + 1));
}

// The `key=value` and `key==value` terms of a label selector. Set-based terms (`in`, `notin`,
// `!=`, `!key`, bare `key`) are left to the API server: datafix only re-checks what it can read
// unambiguously.
std::map<std::string, std::string> required_labels(std::string_view selector) {
    std::map<std::string, std::string> required;
    std::size_t start = 0;
    while (start <= selector.size()) {
        std::size_t comma = selector.find(',', start);
        if (comma == std::string_view::npos) {
            comma = selector.size();
        }
        const std::string term = trim(selector.substr(start, comma - start));
        start = comma + 1;
        const auto eq = term.find('=');
        if (eq == std::string::npos || term.find("!=") != std::string::npos ||
            term.find('(') != std::string::npos) {
            continue;
        }
        const std::size_t value_at =
            (eq + 1 < term.size() && term[eq + 1] == '=') ? eq + 2 : eq + 1;
        required[trim(term.substr(0, eq))] = trim(term.substr(value_at));
    }
    return required;
}

std::string string_at(const nlohmann::json& object, const char* key) {
    if (!object.is_object()) {
        return {};
    }
    const auto it = object.find(key);
    return (it != object.end() && it->is_string()) ? it->get<std::string>() : std::string{};
}

PodStatus read_pod(const nlohmann::json& item) {
    PodStatus pod;
    const nlohmann::json& metadata = item.value("metadata", nlohmann::json::object());
    const nlohmann::json& status = item.value("status", nlohmann::json::object());
    pod.name = string_at(metadata, "name");
    pod.namespace_name = string_at(metadata, "namespace");
    pod.terminating = metadata.is_object() && metadata.contains("deletionTimestamp") &&
                      !metadata["deletionTimestamp"].is_null();
    if (metadata.is_object() && metadata.contains("labels") && metadata["labels"].is_object()) {
        for (const auto& [key, value] : metadata["labels"].items()) {
            if (value.is_string()) {
                pod.labels[key] = value.get<std::string>();
            }
        }
    }
    pod.phase = string_at(status, "phase");
    pod.pod_ip = string_at(status, "podIP");
    if (status.is_object() && status.contains("conditions") && status["conditions"].is_array()) {
        for (const auto& condition : status["conditions"]) {
            if (string_at(condition, "type") == "Ready") {
                pod.ready = string_at(condition, "status") == "True";
            }
        }
    }
    return pod;
}

std::string list_of(const std::vector<PodStatus>& pods) {
    std::string out;
    for (const auto& pod : pods) {
        out += (out.empty() ? "" : ", ") + pod.describe();
    }
    return out;
}

}  // namespace

std::string PodStatus::describe() const {
    std::string state = phase.empty() ? "no phase" : phase;
    if (terminating) {
        state += ", terminating";
    } else if (!ready) {
        state += ", not ready";
    }
    return name + " (" + state + ")";
}

std::vector<PodStatus> parse_pod_list(std::string_view json) {
    const auto refuse = [](const std::string& why) {
        return Error(ErrorCode::invalid_input, "the pod list from the cluster " + why,
                     "run the same `get pods -l <selector> -o json` by hand; datafix expects a "
                     "v1 List (or PodList) of pods");
    };
    const nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) {
        throw refuse("is not JSON");
    }
    const std::string kind = string_at(doc, "kind");
    if (kind != "List" && kind != "PodList") {
        throw refuse("has kind \"" + kind + "\", not List");
    }
    if (!doc.contains("items") || !doc["items"].is_array()) {
        throw refuse("has no items array");
    }
    std::vector<PodStatus> pods;
    for (const auto& item : doc["items"]) {
        // The clients' List names each item's kind; the API's PodList leaves it out.
        if (!item.is_object() || (item.contains("kind") && string_at(item, "kind") != "Pod")) {
            throw refuse("holds an item that is not a Pod");
        }
        pods.push_back(read_pod(item));
        if (pods.back().name.empty()) {
            throw refuse("holds a pod without metadata.name");
        }
    }
    return pods;
}

LeaderChoice choose_leader_pod(const std::vector<PodStatus>& pods, std::string_view namespace_name,
                               std::string_view selector) {
    const std::string ns(namespace_name);
    const std::string where = "namespace " + ns + " (selector " + std::string(selector) + ")";
    for (const auto& pod : pods) {
        if (pod.namespace_name != ns) {
            return {std::nullopt,
                    "the cluster answered with pod " + pod.name + " of namespace \"" +
                        pod.namespace_name + "\", but this environment is namespace " + ns,
                    "check the environment's context and kubeconfig (or, in a pod, the API "
                    "server datafix asks); datafix only works on the configured namespace"};
        }
        for (const auto& [key, value] : required_labels(selector)) {
            const auto it = pod.labels.find(key);
            if (it == pod.labels.end() || it->second != value) {
                return {std::nullopt,
                        "the cluster answered with pod " + pod.name + " without the label " + key +
                            "=" + value + " that " + where + " asks for",
                        "check the client or API server; datafix re-checks the labels so a "
                        "wrong answer is never used"};
            }
        }
    }
    std::vector<PodStatus> eligible;
    std::copy_if(pods.begin(), pods.end(), std::back_inserter(eligible),
                 [](const PodStatus& pod) { return pod.eligible(); });
    if (eligible.size() == 1) {
        return {eligible.front(), {}, {}};
    }
    if (eligible.size() > 1) {
        return {std::nullopt,
                std::to_string(eligible.size()) + " running, ready pods match " + where + ": " +
                    list_of(eligible) + "; datafix needs exactly one leader",
                "the selector is too wide or a failover is in progress: narrow the selector "
                "(role=master) or wait and retry"};
    }
    if (pods.empty()) {
        return {std::nullopt, "no pod matches " + where,
                "check the namespace and cluster name; during a failover wait until a new leader "
                "is elected, then retry"};
    }
    return {std::nullopt, "no running, ready leader pod in " + where + ": found " + list_of(pods),
            "wait until the leader pod is ready (a failover or restart may be in progress), then "
            "retry"};
}

}  // namespace datafix::discover
