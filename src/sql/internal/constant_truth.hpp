// Private to the sql layer: does a WHERE (or MERGE ... ON) condition pick rows by their values, or
// is it the same for every row? `true`, `1 + 1 = 2`, `1::boolean`, `id = 1 OR true`, `x = x`,
// `x OR NOT x` hold for every row; `EXISTS (SELECT 1 FROM t)`, `(SELECT flag FROM settings)` and
// `now() > '2024-01-01'` name no column of the target, so they hold for every row or for none.
#pragma once

#include "sql/internal/pg_tree.hpp"

namespace datafix::sql::internal {

enum class ConditionScope {
    picks_rows,          // depends on the row (or is provably false or NULL: changes nothing)
    true_for_every_row,  // provably true whatever the row holds
    ignores_rows,        // names no column of the target, in the whole or in one OR branch
};

// `statement` is the UPDATE, DELETE or MERGE whose own condition `condition` is: its target's name
// and alias, and the relations of its FROM / USING, tell which column references point at the
// target's row. Conditions on column values are never constant: `archived_at IS NULL` is not. A
// condition that is false or NULL for every row is not refused either: it changes nothing, which
// the declared row count will show.
ConditionScope condition_scope(const PgQuery__Node* statement, const PgQuery__Node* condition);

}  // namespace datafix::sql::internal
