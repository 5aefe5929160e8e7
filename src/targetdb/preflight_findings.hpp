// The pre-flight report's findings: the facts that would make a run fail, wait, or change other
// rows than declared, each with a HINT. Pure: derived from the report's facts only.
#pragma once

#include "targetdb/preflight.hpp"

namespace datafix::targetdb {

void add_findings(PreflightReport& report);

}  // namespace datafix::targetdb
