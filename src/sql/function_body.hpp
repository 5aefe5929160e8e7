// What a trigger function's body does, read with PostgreSQL's own parsers: the PL/pgSQL parser for
// plpgsql functions (libpg_query's pg_query_parse_plpgsql), the SQL parser for the statements in
// it and for sql-language functions. Used by the target layer's pre-flight report to name the
// tables a trigger writes (an audit trigger filling another table) and the triggers that can refuse
// a row. Dynamic SQL (EXECUTE) cannot be followed; it is reported as such.
#pragma once

#include <string>
#include <vector>

namespace datafix::sql {

struct FunctionBodyFacts {
    std::vector<std::string> writes;  // tables written, as spelled in the body, first seen first
    bool may_raise = false;           // RAISE at ERROR level (or a bare re-raise), or ASSERT
    bool returns_null = false;        // a RETURN NULL anywhere (a BEFORE ROW trigger skips the row)
    bool dynamic_sql = false;         // EXECUTE: statements the parser cannot see
};

// `body` as stored in pg_proc.prosrc for a plpgsql function. Throws Error(invalid_input) when the
// PL/pgSQL parser rejects it.
FunctionBodyFacts inspect_plpgsql_body(const std::string& body);

// `body` as stored in pg_proc.prosrc for a sql-language function.
FunctionBodyFacts inspect_sql_body(const std::string& body);

}  // namespace datafix::sql
