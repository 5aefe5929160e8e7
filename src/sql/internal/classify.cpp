// Statement kinds, and the refusals that follow from the kind alone. Anything not listed here is a
// schema, privilege or server change and refused as DDL: new statement types are refused until
// someone decides otherwise.
#include <string>

#include "sql/internal/statement_rules.hpp"

namespace datafix::sql::internal {

namespace {

constexpr std::string_view kSettingsHint =
    "remove it: datafix sets the role, timeouts and session settings (such as jwt.claims.sub) from "
    "the environment's configuration before every run";

Verdict refuse_setting(const PgQuery__VariableSetStmt& set) {
    std::string name = set.name != nullptr ? set.name : "";
    bool reset = set.kind == PG_QUERY__VARIABLE_SET_KIND__VAR_RESET ||
                 set.kind == PG_QUERY__VARIABLE_SET_KIND__VAR_RESET_ALL;
    std::string verb = std::string(reset ? "RESET" : "SET") + (set.is_local ? " LOCAL" : "");
    if (name == "role") {
        return refuse("set_role", verb + " ROLE would change the role the change runs as",
                      "remove it: datafix sets the environment's configured role itself and "
                      "verifies it (current_user, not a superuser) before and after the change");
    }
    if (name == "session_authorization") {
        return refuse("set_session_authorization",
                      verb + " SESSION AUTHORIZATION would change who the session is",
                      "remove it: datafix connects as the configured user and sets the "
                      "configured role itself");
    }
    std::string what = name.empty() ? "ALL" : name;
    return refuse("session_setting",
                  verb + " " + what + " changes a setting, which could change how the change runs",
                  std::string(kSettingsHint));
}

}  // namespace

Verdict refuse(std::string rule, std::string reason, std::string hint) {
    return Verdict{false, std::move(rule), std::move(reason), std::move(hint)};
}

Classification classify(const PgQuery__Node* statement, std::string_view lead_words) {
    std::string lead(lead_words);
    switch (statement->node_case) {
        case PG_QUERY__NODE__NODE_INSERT_STMT:
            return {StatementKind::insert, {}};
        case PG_QUERY__NODE__NODE_UPDATE_STMT:
            return {StatementKind::update, {}};
        case PG_QUERY__NODE__NODE_DELETE_STMT:
            return {StatementKind::delete_, {}};
        case PG_QUERY__NODE__NODE_MERGE_STMT:
            return {StatementKind::merge, {}};
        case PG_QUERY__NODE__NODE_SELECT_STMT:
            return {StatementKind::select, {}};
        case PG_QUERY__NODE__NODE_TRANSACTION_STMT:
            return {StatementKind::transaction,
                    refuse("transaction_control",
                           lead + " controls the transaction, which datafix owns",
                           "remove it: datafix runs the whole change in one transaction, rolls "
                           "it back after the preview and commits only approved evidence")};
        case PG_QUERY__NODE__NODE_VARIABLE_SET_STMT:
            return {StatementKind::set, refuse_setting(*statement->variable_set_stmt)};
        case PG_QUERY__NODE__NODE_CONSTRAINTS_SET_STMT:
        case PG_QUERY__NODE__NODE_DISCARD_STMT:
            return {StatementKind::set,
                    refuse("session_setting", lead + " changes the session's state",
                           std::string(kSettingsHint))};
        case PG_QUERY__NODE__NODE_VARIABLE_SHOW_STMT:
            return {StatementKind::utility,
                    refuse("utility", "SHOW is not a data change",
                           "remove it; to look at a setting, SELECT current_setting('name') in "
                           "the verify file")};
        case PG_QUERY__NODE__NODE_COPY_STMT:
            return {StatementKind::copy,
                    refuse("copy", "COPY moves data in bulk to or from files and programs",
                           "write the rows as INSERT ... VALUES statements, or load bulk data "
                           "through a reviewed migration")};
        case PG_QUERY__NODE__NODE_DO_STMT:
            return {StatementKind::do_block,
                    refuse("do_block", "a DO block runs procedural code the guard cannot check",
                           "write the change as plain INSERT, UPDATE, DELETE or MERGE "
                           "statements")};
        case PG_QUERY__NODE__NODE_CALL_STMT:
            return {StatementKind::call,
                    refuse("call", "CALL runs a procedure the guard cannot check (it may commit)",
                           "write the procedure's data change as plain INSERT, UPDATE, DELETE or "
                           "MERGE statements")};
        case PG_QUERY__NODE__NODE_VACUUM_STMT:
        case PG_QUERY__NODE__NODE_CLUSTER_STMT:
        case PG_QUERY__NODE__NODE_REINDEX_STMT:
        case PG_QUERY__NODE__NODE_CHECK_POINT_STMT:
        case PG_QUERY__NODE__NODE_REFRESH_MAT_VIEW_STMT:
            return {StatementKind::utility,
                    refuse("maintenance", lead + " is database maintenance, not a data change",
                           "leave maintenance to the database's operators and autovacuum")};
        case PG_QUERY__NODE__NODE_LOCK_STMT:
            return {StatementKind::utility,
                    refuse("lock", "LOCK takes a table lock that blocks the application",
                           "remove it: the change's own row locks suffice, and datafix sets "
                           "lock_timeout")};
        case PG_QUERY__NODE__NODE_LISTEN_STMT:
        case PG_QUERY__NODE__NODE_UNLISTEN_STMT:
        case PG_QUERY__NODE__NODE_NOTIFY_STMT:
            return {StatementKind::utility,
                    refuse("listen_notify",
                           lead + " talks to other sessions, outside the change's data",
                           "remove it; datafix notifies people itself when the change is "
                           "applied")};
        case PG_QUERY__NODE__NODE_EXPLAIN_STMT:
            return {StatementKind::utility,
                    refuse("utility", "EXPLAIN is not a data change (EXPLAIN ANALYZE runs it)",
                           "remove it; datafix's preview reports each statement's row count")};
        case PG_QUERY__NODE__NODE_PREPARE_STMT:
        case PG_QUERY__NODE__NODE_EXECUTE_STMT:
        case PG_QUERY__NODE__NODE_DEALLOCATE_STMT:
            return {StatementKind::utility,
                    refuse("utility", lead + " hides the statement behind a prepared name",
                           "write the statement itself, with its values, in the file")};
        case PG_QUERY__NODE__NODE_DECLARE_CURSOR_STMT:
        case PG_QUERY__NODE__NODE_FETCH_STMT:
        case PG_QUERY__NODE__NODE_CLOSE_PORTAL_STMT:
            return {StatementKind::utility,
                    refuse("utility", lead + " works with cursors, which a change does not need",
                           "write the change as set-based INSERT, UPDATE, DELETE or MERGE "
                           "statements")};
        case PG_QUERY__NODE__NODE_LOAD_STMT:
            return {StatementKind::utility,
                    refuse("utility", "LOAD loads a shared library into the server",
                           "remove it; extensions are installed by the database's operators")};
        case PG_QUERY__NODE__NODE_TRUNCATE_STMT:
            return {StatementKind::ddl,
                    refuse("truncate",
                           "TRUNCATE removes every row and is not row-by-row "
                           "revertible",
                           "DELETE the rows you mean, with a WHERE, and declare the expected row "
                           "count")};
        default:
            return {StatementKind::ddl,
                    refuse("ddl", lead + " changes the schema, privileges or server configuration",
                           "make schema and privilege changes through a reviewed migration "
                           "(sqitch), not through datafix")};
    }
}

}  // namespace datafix::sql::internal
