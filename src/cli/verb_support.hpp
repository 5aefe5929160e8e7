// Small pieces shared by the verbs that talk to the server: the request-number argument, the
// answer of a step (JSON for scripts, one line plus the request for people) and API paths.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/client.hpp"

namespace datafix::cli {

// The options of one verb invocation, kept alive by the action that uses them.
struct VerbOptions {
    ClientFlags flags;
    long long request = 0;
    std::string environment;
};

// Adds the positional request number and the client flags.
void add_request_argument(CLI::App& command, VerbOptions& options);

std::string request_path(long long number, const std::string& rest = "");

// The environment's progress in a request's state, or the server's own refusal of an unknown
// environment (workflow::unknown_environment), listing the configured names: one text and exit
// status for every verb.
const nlohmann::json& environment_progress(const nlohmann::json& state, const std::string& name);

// Prints the answer of a step: JSON as is with --output json, else `message` and the request.
int report_step(const ClientFlags& flags, const nlohmann::json& state, const std::string& message,
                bool show_request = false);

}  // namespace datafix::cli
