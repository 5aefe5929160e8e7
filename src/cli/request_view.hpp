// How a request, a run's evidence and its before/after images look to a person on a terminal.
#pragma once

#include <nlohmann/json.hpp>

#include "cli/output.hpp"

namespace datafix::cli {

void print_request(const nlohmann::json& state, const Style& style);
void print_evidence(const nlohmann::json& evidence, const Style& style);
// The decrypted images of a run as a diff: removed values red, added green, per key.
void print_images(const nlohmann::json& images, const Style& style);
// The first refused statement and its reasons, from the SQL guard's analysis in an error's details.
void print_guard_details(const nlohmann::json& details, const Style& style);
// Who owns a request's next step (its "next" view), by name: "Sam Pair (pair)", "any developer".
std::string next_step_owner(const nlohmann::json& next);
// The first lines of `datafix preview | apply | revert` for the server's answer to a run
// (`kind`: preview, apply or revert): what happened to the data, the run, and its evidence (with
// the pre-flight findings of a preview).
void print_run_result(const std::string& kind, const std::string& request,
                      const std::string& environment, const nlohmann::json& result,
                      const Style& style);
// One live event of a request (`datafix watch`) as the lines a watcher reads.
std::string describe_event(const nlohmann::json& event, const Style& style);
// What a new revision or a cancel voided and which environments still hold the change (the
// answer's "consequences").
void print_consequences(const nlohmann::json& consequences, const Style& style);

}  // namespace datafix::cli
