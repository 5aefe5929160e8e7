// The findings of a pre-flight report (its JSON form) as a person reads them under a run:
// blockers in red, warnings in yellow, each with its HINT.
#pragma once

#include <nlohmann/json.hpp>

#include "cli/output.hpp"

namespace datafix::cli {

// Prints "  pre-flight on <env>: no findings" or one line per finding; nothing for null.
void print_preflight_findings(const nlohmann::json& report, const Style& style);

}  // namespace datafix::cli
