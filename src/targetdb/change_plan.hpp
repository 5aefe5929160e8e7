// What a run executes: the change statements (already admitted by the SQL guard), each with its
// declared row count and the capture plan derived from its parse tree, and the verify queries.
// Built from sql::Analysis by plan_builder.hpp; kept as plain data so the executor does not depend
// on how the plan was made.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sql/analysis.hpp"
#include "sql/capture_plan.hpp"

namespace datafix::targetdb {

// Narrower than sql::StatementKind on purpose: only what a plan may execute, so every switch over
// it in this layer is checked for completeness by the compiler.
enum class StatementKind { insert, update, delete_, merge };

// How to see the rows a statement touches: the SQL guard derives it from the parse tree.
using CapturePlan = sql::CapturePlan;

struct PlannedStatement {
    int index = 0;     // 1-based position in the change file
    std::string text;  // the exact statement text (byte-identical in every environment)
    StatementKind kind = StatementKind::update;
    std::optional<long long> expected_rows;  // the count the request declares
    CapturePlan capture;
    // What it reads (subqueries, joins, USING), as written: row security there hides rows too.
    std::vector<std::string> tables_read;
    // Every function it calls, as written: pre-flight resolves them and vouches for the
    // application's own (target/preflight_functions.hpp).
    std::vector<sql::FunctionCall> calls;
};

struct VerifyQuery {
    int index = 0;
    std::string text;  // a SELECT admitted by the SQL guard
    std::vector<sql::FunctionCall> calls;
};

struct ChangePlan {
    std::string name;    // request title or id; goes into application_name
    std::string sha256;  // of the change file; recorded in the evidence
    std::vector<PlannedStatement> statements;
    std::vector<VerifyQuery> verify;
    // The change was attached with --all-rows: an UPDATE or DELETE may leave no row of its table
    // untouched. Without it, one that does is refused, whatever its WHERE looks like.
    bool all_rows = false;
};

}  // namespace datafix::targetdb
