// What a run executes: the change statements (already admitted by the SQL guard), each with its
// declared row count and the capture plan derived from its parse tree, and the verify queries.
// Built from sql::Analysis by plan_builder.hpp; kept as plain data so the executor does not depend
// on how the plan was made.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace datafix::target {

enum class StatementKind { insert, update, delete_, merge };

// How to see the rows a statement touches (from sql::capture_plan).
struct CapturePlan {
    std::string schema;
    std::string table;
    std::string alias;
    // SELECT alias.* with the statement's own WITH/FROM/USING/WHERE; empty for INSERT.
    std::string before_select;
    // The statement with RETURNING alias.*; empty for MERGE (PostgreSQL 15 has no MERGE RETURNING).
    std::string with_returning;
};

struct PlannedStatement {
    int index = 0;     // 1-based position in the change file
    std::string text;  // the exact statement text (byte-identical in every environment)
    StatementKind kind = StatementKind::update;
    std::optional<long long> expected_rows;  // the count the request declares
    CapturePlan capture;
};

struct VerifyQuery {
    int index = 0;
    std::string text;  // a SELECT admitted by the SQL guard
};

struct ChangePlan {
    std::string name;    // request title or id; goes into application_name
    std::string sha256;  // of the change file; recorded in the evidence
    std::vector<PlannedStatement> statements;
    std::vector<VerifyQuery> verify;
};

}  // namespace datafix::target
