// What the target layer runs around an allowed data change to capture the rows it touches: a
// SELECT of the before-images and the statement rewritten to return its after-images. Built from
// the parse tree and deparsed, never by pasting strings, so the rewritten SQL is the same
// statement.
#pragma once

#include <string>

#include "sql/analysis.hpp"

namespace datafix::sql {

struct CapturePlan {
    std::string schema;  // of the target relation; empty when the statement leaves it unqualified
    std::string table;
    std::string alias;  // the alias used in the statement, or the table name
    // SELECT <alias>.* FROM the target with the statement's own WITH, FROM/USING and WHERE: the
    // rows an UPDATE/DELETE will touch, read before it runs. MERGE: the target rows that match the
    // join condition (a superset when WHEN clauses carry extra conditions). Empty for INSERT.
    std::string before_select;
    // The statement with its RETURNING list replaced by <alias>.*; empty for MERGE (PostgreSQL 15
    // has no MERGE ... RETURNING).
    std::string with_returning;
    // INSERT ... ON CONFLICT DO UPDATE may change existing rows whose before-images cannot be read
    // up front from the statement alone; the target layer must treat such rows specially.
    bool on_conflict_update = false;
};

// For an INSERT, UPDATE, DELETE or MERGE statement from analyze(); throws datafix::Error(internal)
// for any other kind, since callers only ask for allowed data changes.
CapturePlan capture_plan(const Statement& statement);

}  // namespace datafix::sql
