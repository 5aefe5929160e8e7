// What a trigger function's body does, read with PostgreSQL's own parsers: the PL/pgSQL parser for
// plpgsql functions (libpg_query's pg_query_parse_plpgsql), the SQL parser for the statements in
// it and for sql-language functions. Used by the target layer's pre-flight report to name the
// tables a trigger writes (an audit trigger filling another table) and the triggers that can refuse
// a row. Dynamic SQL (EXECUTE) cannot be followed; it is reported as such.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sql/analysis.hpp"
#include "sql/column_sources.hpp"

namespace datafix::sql {

// One table a body writes and the command that writes it ("INSERT", "UPDATE", "DELETE", "MERGE").
struct BodyWrite {
    std::string table;  // as spelled in the body
    std::string command;
    bool operator==(const BodyWrite&) const = default;
};

// A field of NEW that a body assigns, with the calls in the assigned expression.
struct NewValue {
    std::string field;
    ValueFacts value;
    bool readable = true;  // false: the expression did not parse, its calls are unknown
    // Only under IF TG_OP = 'INSERT' (or IN (...)): the events it is assigned on; empty: any.
    std::vector<std::string> only_on;
    bool operator==(const NewValue&) const = default;
};

// An operator as written: `OPERATOR(schema.op)` keeps its schema. Only the target's catalog knows
// which function it runs (pg_operator.oprcode), and without the operands' types only which
// operators of that name it may be.
struct OperatorUse {
    std::string schema;  // empty when unqualified
    std::string name;
    bool binary = true;  // false for a prefix operator
    bool operator==(const OperatorUse&) const = default;
};

// A type a value is cast to (`x::t`, `CAST(x AS t)`, `t 'literal'`), as written: a cast may run a
// function (pg_cast.castfunc) and, into a domain, the domain's checks.
struct TypeReference {
    std::string schema;  // empty when unqualified
    std::string name;
    bool operator==(const TypeReference&) const = default;
};

struct FunctionBodyFacts {
    std::vector<std::string> writes;  // tables written, as spelled in the body, first seen first
    std::vector<BodyWrite> write_commands;  // each table with each command that writes it, once
    // Columns of NEW the body assigns: a BEFORE ROW trigger that changes the row it is given.
    std::vector<std::string> assigns_new;
    // The same assignments with what they assign (column_sources.hpp), and the INSERTs and
    // UPDATEs in the body with what they put into each column: where after-image columns get
    // values that differ from one run to the next (a clock, a sequence).
    std::vector<NewValue> new_values;
    std::vector<TableWrite> table_writes;
    // Functions the body calls, as spelled (schema-qualified where written so), first seen first;
    // their bodies write too.
    std::vector<std::string> calls;
    // Every call with its schema as written (pg_catalog's too) and its argument count: what
    // pre-flight resolves when it vouches for an application function.
    std::vector<FunctionCall> called;
    // Operators and casts the body (or statement, or expression) uses: functions run through them.
    std::vector<OperatorUse> operators;
    std::vector<TypeReference> casts;
    // Parameters the body sets (SET, SET LOCAL, set_config), by name as written, lower case.
    std::vector<std::string> settings_changed;
    // Statements in the body that are neither INSERT, UPDATE, DELETE, MERGE, SELECT nor SET, by
    // kind ("ddl", "call", "transaction", ...).
    std::vector<std::string> other_statements;
    // SET ROLE / SET SESSION AUTHORIZATION / set_config('role', ...) in the body: the trigger
    // changes who the session is, which the configured role may not be allowed to do.
    std::vector<std::string> role_changes;
    // The roles those changes name, where the body spells them as literals.
    std::vector<std::string> roles_set;
    bool may_raise = false;     // RAISE at ERROR level (or a bare re-raise), or ASSERT
    bool returns_null = false;  // a RETURN NULL anywhere (a BEFORE ROW trigger skips the row)
    bool dynamic_sql = false;   // EXECUTE: statements the parser cannot see
    // A statement or expression in the body that the SQL parser rejected (or, for a sql body, the
    // body itself): what the body does is not fully known.
    bool unreadable = false;
};

// `body` as stored in pg_proc.prosrc for a plpgsql function. Throws Error(invalid_input) when the
// PL/pgSQL parser rejects it.
FunctionBodyFacts inspect_plpgsql_body(const std::string& body);

// `body` as stored in pg_proc.prosrc for a sql-language function; equally any SQL text, such as a
// change statement or "SELECT <expr>" for an expression pg_get_expr printed.
FunctionBodyFacts inspect_sql_body(const std::string& body);

// A function with a SQL-standard body (BEGIN ATOMIC ... END, or RETURN expr) as
// pg_get_functiondef prints it: the body's statements, calls, operators and casts, tables written.
// Throws Error(invalid_input) when the definition does not parse or holds no SQL-standard body.
FunctionBodyFacts inspect_function_definition(const std::string& definition);

// A rule as pg_get_ruledef prints it ("CREATE RULE r AS ON INSERT TO t DO ALSO INSERT INTO x
// ..."): the tables its actions write. Throws Error(invalid_input) when it does not parse.
FunctionBodyFacts inspect_rule_definition(const std::string& definition);

// The allowlist (sql/allowed_functions.inc) for a call pre-flight resolved on the target: why
// schema.name() is refused (as "calls schema.name(), which ..."), or nothing. pg_catalog's
// functions must be on the list (sequence functions only where `may_draw_keys`); other system
// schemas' never; an application schema's unless the name is known to be dangerous. Whether an
// application function is vouched for beyond that is pre-flight's decision (its body).
std::optional<std::string> refused_resolved_call(std::string_view schema, std::string_view name,
                                                 bool may_draw_keys);

}  // namespace datafix::sql
