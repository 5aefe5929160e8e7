// Private to the sql layer: does a WHERE (or MERGE ... ON) condition hold for every row no matter
// what the row holds? `true`, `1 = 1`, `id = 1 OR true`, `NOT false`, `x = x`, `x OR NOT x`.
#pragma once

#include "sql/internal/pg_tree.hpp"

namespace datafix::sql::internal {

// True only when the condition is provably true for every row (a row whose compared expression is
// NULL aside, as in `x = x`). Conditions on column values are never constant: `archived_at IS NULL`
// is not. A condition that is false or NULL for every row is not "constant-true" either: it
// changes nothing, which the declared row count will show.
bool is_constant_true(const PgQuery__Node* condition);

}  // namespace datafix::sql::internal
