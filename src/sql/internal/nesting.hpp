// Private to the sql layer: how deeply a file's statements nest, judged from the scanner's tokens
// before anything is parsed. PostgreSQL's parser, libpg_query's output and the guard's own
// recursive checks all recurse once per level of the tree; a file of thousands of NOTs or a chain
// of thousands of operators must be refused here, never reach them.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "sql/internal/pg_tree.hpp"

namespace datafix::sql::internal {

// Subqueries in expressions cost libpg_query's normalization far more than linear time in their
// depth (about 5 ms for one statement 32 deep, 0.2 s at 1000), so they have a limit of their own.
inline constexpr int kMaxSubqueryNesting = 8;

struct NestingExcess {
    std::size_t byte = 0;   // where the estimate first passed the limit
    bool subquery = false;  // the subquery limit, not the general one
};

// An upper bound of each statement's expression depth: open parentheses, brackets and CASEs,
// plus, at each open level, the operators and operator keywords (NOT, IS, ::, COLLATE, UNION,
// JOIN, ...) since the last comma, AND, OR or CASE arm there (AND and OR lists are flat in the
// tree, so their length does not count). Separately, parentheses that open a SELECT, VALUES,
// WITH or TABLE count as subquery levels, limited to kMaxSubqueryNesting. Linear in the number of
// tokens.
std::optional<NestingExcess> nesting_excess(const std::vector<Token>& tokens, int limit);

}  // namespace datafix::sql::internal
