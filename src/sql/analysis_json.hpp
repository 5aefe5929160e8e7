// JSON form of an analysis, for `datafix check --output json` and for the server's API. Carries
// normalized statements and hashes only: the exact statement text may hold private data.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "sql/analysis.hpp"

namespace datafix::sql {

nlohmann::json to_json(const Verdict& verdict);
nlohmann::json to_json(const Statement& statement);
nlohmann::json to_json(const Analysis& analysis);

}  // namespace datafix::sql
