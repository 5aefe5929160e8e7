// The pre-flight report for people: one block per statement, one per table, then the findings
// with their HINTs. Plain text, no colour; the CLI decides how to print it.
#pragma once

#include <string>

#include "targetdb/preflight.hpp"

namespace datafix::targetdb {

std::string render_preflight(const PreflightReport& report);

}  // namespace datafix::targetdb
