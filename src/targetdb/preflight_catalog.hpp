// Pre-flight catalog reads for one written table: who owns it, what the role may do on it, row
// level security and its policies, triggers and foreign keys that reference it. Read-only
// catalog queries; none of them locks the table.
#pragma once

#include "sql/function_body.hpp"

#include <optional>
#include <string>
#include <vector>

#include "targetdb/preflight.hpp"

namespace datafix::targetdb {

class Connection;

struct TableIdentity {
    std::string oid;
    std::string schema;
    std::string table;
    std::string owner;
};

// The commands a change runs against one table, as datafix executes them (its capture reads the
// rows first and uses RETURNING, so every statement also needs SELECT).
struct TableCommands {
    bool insert = false;
    bool update = false;
    bool delete_ = false;
    bool merge = false;

    void add(StatementKind kind);
    bool may_insert() const { return insert || merge; }
    bool may_update() const { return update || merge; }
    bool may_delete() const { return delete_ || merge; }
};

// Empty `schema`: resolved through the session's search_path, as the statement will be.
std::optional<TableIdentity> resolve_table(Connection& connection, const std::string& schema,
                                           const std::string& table);

TablePrivileges read_privileges(Connection& connection, const TableIdentity& table,
                                const std::string& role, const TableCommands& commands);

RowSecurity read_row_security(Connection& connection, const TableIdentity& table,
                              const std::string& role, const TableCommands& commands);

// `role`: the configured role, asked whether it may become the roles a trigger switches to.
std::vector<TriggerFact> read_triggers(Connection& connection, const TableIdentity& table,
                                       const TableCommands& commands, const std::string& role);

std::vector<ReferenceFact> read_references(Connection& connection, const TableIdentity& table,
                                           const TableCommands& commands);

// What a trigger function's body does, read with PostgreSQL's parsers (sql/function_body.hpp);
// `language` is pg_language.lanname ("plpgsql" or "sql").
using FunctionBodyFacts = sql::FunctionBodyFacts;
// The rules on the table and the tables their actions write.
std::vector<RuleFact> read_rules(Connection& connection, const TableIdentity& table,
                                 const TableCommands& commands);

// Follows the functions `facts` calls (the application's own, recursively) and adds what their
// bodies write, whether they change the role and whether they run dynamic SQL.
void add_called_functions(Connection& connection, FunctionBodyFacts& facts);

FunctionBodyFacts inspect_function_body(const std::string& source,
                                        const std::string& language = "plpgsql");

}  // namespace datafix::targetdb
