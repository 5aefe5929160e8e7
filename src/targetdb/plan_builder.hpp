// From the SQL guard's analysis to a ChangePlan: the only way a plan is built outside tests of
// the executor, so nothing the guard refused can reach a database.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sql/analysis.hpp"
#include "targetdb/change_plan.hpp"

namespace datafix::targetdb {

// `expected_rows[i]` is the count the request declares for statement i+1 (nullopt: none).
// Throws Error(refused) when a statement was refused by the guard, is not a data change (change
// file) or not a SELECT (verify file).
ChangePlan build_change_plan(const std::string& name, const sql::Analysis& change,
                             const std::vector<std::optional<long long>>& expected_rows,
                             const sql::Analysis* verify = nullptr);

}  // namespace datafix::targetdb
