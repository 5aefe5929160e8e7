// Private to the sql layer: the policy. Given one parsed statement and the role of its file, what
// kind it is, which tables it writes, and the verdict.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sql/analysis.hpp"
#include "sql/internal/pg_tree.hpp"

namespace datafix::sql::internal {

// The statement kind, and a refusal that holds whatever the file's role (DDL, SET, COPY, ...).
// `lead` is the statement's first keywords as written ("ALTER TABLE"), used in reasons.
struct Classification {
    StatementKind kind = StatementKind::other;
    Verdict refusal;  // allowed == true when the kind itself is not refused
};
Classification classify(const PgQuery__Node* statement, std::string_view lead);

struct StatementFacts {
    StatementKind kind = StatementKind::other;
    std::vector<std::string> tables_written;
    std::vector<std::string> tables_read;
    std::vector<FunctionCall> calls;
    bool has_where = false;
    bool where_constant_true = false;  // true for every row, or the same for every row
    bool where_ignores_rows = false;   // ... and the reason is that it names no target column
    Verdict verdict;
};
StatementFacts examine(const PgQuery__Node* statement, FileRole role, std::string_view lead);

Verdict refuse(std::string rule, std::string reason, std::string hint);

}  // namespace datafix::sql::internal
