// The planner's estimate of the rows a statement will affect: EXPLAIN (FORMAT JSON) without
// ANALYZE, which plans the statement and never executes it.
#pragma once

#include "targetdb/change_plan.hpp"
#include "targetdb/preflight.hpp"

namespace datafix::targetdb {

class Connection;

// Fills `report.estimated` or `report.estimate_unavailable`, and `report.estimate_far`. Runs
// inside a savepoint so a statement the role may not run (permission denied) leaves the
// pre-flight transaction usable. Planning takes the statement's table lock (RowExclusiveLock)
// until the pre-flight transaction ends; the caller skips this when another session holds a
// conflicting lock, so the report never waits.
void estimate_rows(Connection& connection, const PlannedStatement& statement,
                   StatementReport& report);

// The rows EXPLAIN's JSON says the statement's row source produces: the ModifyTable's input for
// INSERT/UPDATE/DELETE/MERGE. Empty when the JSON has no plan.
std::optional<long long> rows_from_explain_json(const std::string& json);

}  // namespace datafix::targetdb
