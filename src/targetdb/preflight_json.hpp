// The pre-flight report as JSON (`--output json`, the HTTP API, the ledger). Field names are
// stable: scripts read them.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "targetdb/preflight.hpp"

namespace datafix::targetdb {

nlohmann::json preflight_to_json(const PreflightReport& report);

}  // namespace datafix::targetdb
