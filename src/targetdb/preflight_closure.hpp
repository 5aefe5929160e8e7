// The write closure of a change: every table it can write, directly or through what fires when it
// writes (triggers, recursively through the functions they call; foreign-key actions; rules), with
// the cause of each. Capture, the fingerprint, the prod backup and revert all cover this set.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "targetdb/environment_target.hpp"
#include "targetdb/preflight.hpp"
#include "targetdb/preflight_catalog.hpp"

namespace datafix::targetdb {

class Connection;

// Extends report.tables (with `commands` and `identities` in step) by every table the tables
// already there can write, until nothing new is reached; fills triggers, references, rules,
// reached_by, commands and append_only of every table. Writes that cannot be read (dynamic SQL,
// a table the catalog does not resolve) go to report.unknown_writes, and then every table of the
// application's schemas joins the closure, so capture needs no knowledge of the writes.
void add_write_closure(Connection& connection, PreflightReport& report,
                       std::vector<TableCommands>& commands,
                       std::vector<std::optional<TableIdentity>>& identities,
                       const EnvironmentTarget& target);

// The kind of write a body's command tag names ("INSERT", "DELETE", "MERGE"; anything else is an
// UPDATE).
StatementKind kind_of_command(const std::string& command);

// The privileges a revert of this table's changes needs and the role lacks (TableReport's
// revert_missing), from the table's `commands`.
void read_revert_privileges(Connection& connection, const TableIdentity& table,
                            const std::string& role, TableReport& report);

// GRANT SET ON PARAMETER session_replication_role (PostgreSQL 15), or a superuser role.
bool role_may_disable_triggers(Connection& connection, const std::string& role);

// What would keep a revert of this change from putting every row back exactly: triggers that
// fire while restoring and set columns, may refuse, or write other tables; rules; missing
// privileges. Filled into report.revert_hazards.
void find_revert_hazards(PreflightReport& report);

}  // namespace datafix::targetdb
