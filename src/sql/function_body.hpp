// What a trigger function's body does, read with PostgreSQL's own parsers: the PL/pgSQL parser for
// plpgsql functions (libpg_query's pg_query_parse_plpgsql), the SQL parser for the statements in
// it and for sql-language functions. Used by the target layer's pre-flight report to name the
// tables a trigger writes (an audit trigger filling another table) and the triggers that can refuse
// a row. Dynamic SQL (EXECUTE) cannot be followed; it is reported as such.
#pragma once

#include <string>
#include <vector>

namespace datafix::sql {

// One table a body writes and the command that writes it ("INSERT", "UPDATE", "DELETE", "MERGE").
struct BodyWrite {
    std::string table;  // as spelled in the body
    std::string command;
    bool operator==(const BodyWrite&) const = default;
};

struct FunctionBodyFacts {
    std::vector<std::string> writes;  // tables written, as spelled in the body, first seen first
    std::vector<BodyWrite> write_commands;  // each table with each command that writes it, once
    // Columns of NEW the body assigns: a BEFORE ROW trigger that changes the row it is given.
    std::vector<std::string> assigns_new;
    // Functions the body calls, as spelled (schema-qualified where written so), first seen first;
    // their bodies write too.
    std::vector<std::string> calls;
    // SET ROLE / SET SESSION AUTHORIZATION / set_config('role', ...) in the body: the trigger
    // changes who the session is, which the configured role may not be allowed to do.
    std::vector<std::string> role_changes;
    // The roles those changes name, where the body spells them as literals.
    std::vector<std::string> roles_set;
    bool may_raise = false;     // RAISE at ERROR level (or a bare re-raise), or ASSERT
    bool returns_null = false;  // a RETURN NULL anywhere (a BEFORE ROW trigger skips the row)
    bool dynamic_sql = false;   // EXECUTE: statements the parser cannot see
};

// `body` as stored in pg_proc.prosrc for a plpgsql function. Throws Error(invalid_input) when the
// PL/pgSQL parser rejects it.
FunctionBodyFacts inspect_plpgsql_body(const std::string& body);

// `body` as stored in pg_proc.prosrc for a sql-language function.
FunctionBodyFacts inspect_sql_body(const std::string& body);

// A rule as pg_get_ruledef prints it ("CREATE RULE r AS ON INSERT TO t DO ALSO INSERT INTO x
// ..."): the tables its actions write. Throws Error(invalid_input) when it does not parse.
FunctionBodyFacts inspect_rule_definition(const std::string& definition);

}  // namespace datafix::sql
