// Pre-flight: what a change will meet in one environment before it runs, read as the configured
// role without writing anything. For every table the change writes: the role's privileges, row
// level security and the policies that apply to the role, the triggers and cascading foreign keys
// that will fire, the planner's estimate next to the declared count, and sessions holding locks
// the run would wait for. The report names tables, roles, triggers and policies, never values
// from the statements (statements appear only normalized).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sql/function_body.hpp"
#include "targetdb/change_plan.hpp"
#include "targetdb/environment_target.hpp"

namespace datafix::targetdb {

class Connection;
struct SessionFacts;  // session.hpp; not included, so evidence.hpp may include this header

enum class Privilege { select, insert, update, delete_ };

// How much of a privilege the role holds on a table: all of it, on some columns only, or none.
enum class Grant { none, some_columns, table };

struct PrivilegeFact {
    Privilege privilege = Privilege::select;
    Grant grant = Grant::none;
    bool required = false;     // this change cannot run without it
    bool conditional = false;  // needed only if a MERGE uses the matching action
};

struct TablePrivileges {
    bool schema_usage = false;
    std::vector<PrivilegeFact> privileges;  // select, insert, update, delete, in that order
    std::vector<Privilege> missing;         // required and not held on the whole table
};

// A policy's command, and the commands a statement is checked against.
enum class PolicyCommand { all, select, insert, update, delete_ };

struct PolicyFact {
    std::string name;
    bool using_true = false;  // USING (true): every row passes it
    PolicyCommand command = PolicyCommand::all;
    bool permissive = true;
    std::vector<std::string> roles;  // "public" for PUBLIC
    bool applies_to_role = false;    // PUBLIC, the role, or a role it inherits from
};

// For one command the change needs: the policies that decide which rows the role sees or writes.
struct CommandAccess {
    PolicyCommand command = PolicyCommand::select;
    std::vector<std::string> permissive;
    std::vector<std::string> restrictive;
    // Row security applies and no permissive policy grants this command: every row is hidden.
    bool denied = false;
};

struct RowSecurity {
    bool enabled = false;  // relrowsecurity
    bool forced = false;   // relforcerowsecurity
    bool role_is_owner = false;
    bool role_bypasses = false;  // rolbypassrls
    bool applies = false;        // enabled, and neither owner-without-FORCE nor BYPASSRLS
    // The role can read every row (row security does not apply, or a permissive policy for
    // SELECT or ALL that applies to it says USING (true)): what capture needs.
    bool role_sees_all_rows = true;
    std::vector<PolicyFact> policies;
    std::vector<CommandAccess> commands;  // only the commands this change needs
};

enum class TriggerTiming { before, after, instead_of };
enum class TriggerLevel { row, statement };
enum class TriggerEnabled { origin, always, replica, disabled };

struct TriggerFact {
    std::string name;
    TriggerTiming timing = TriggerTiming::after;
    TriggerLevel level = TriggerLevel::row;
    std::vector<std::string> events;  // "INSERT", "UPDATE", "DELETE", "TRUNCATE"
    TriggerEnabled enabled = TriggerEnabled::origin;
    std::string function;  // regprocedure, e.g. app_public.audit_record()
    bool fires = false;    // enabled in a normal session and one of its events is this change's
    // From a look at the function's body (PL/pgSQL and SQL only): tables it writes, whether it
    // can raise an error, and whether a BEFORE ROW trigger can skip a row by returning NULL.
    std::vector<std::string> writes;
    std::vector<sql::BodyWrite> write_commands;  // the same tables, each with its command
    bool may_raise = false;
    bool may_skip_row = false;
    std::vector<std::string> assigns_new;   // columns of NEW a BEFORE ROW trigger sets
    std::vector<std::string> role_changes;  // SET ROLE, set_config('role', ...) in its body
    // The roles it switches to (as literals in its body) that the configured role may not become.
    std::vector<std::string> roles_not_granted;
    bool security_definer = false;  // the function runs as its owner
    std::string function_owner;
    bool dynamic_sql = false;  // EXECUTE in the body (or a function it calls): writes unknown
    // What it assigns to NEW and what its INSERTs and UPDATEs (and those of the functions it
    // calls) put into columns: the causes of volatile after-image columns (volatility.hpp).
    std::vector<sql::NewValue> new_values;
    std::vector<sql::TableWrite> table_writes;
    bool body_unreadable = false;  // a statement or expression in it did not parse
};

// A rule on a table (pg_rewrite), other than a view's _RETURN.
struct RuleFact {
    std::string name;
    std::string event;  // "INSERT", "UPDATE", "DELETE"
    bool instead = false;
    std::vector<std::string> writes;  // tables its actions write
    std::vector<sql::BodyWrite> write_commands;
    std::vector<sql::TableWrite> table_writes;  // with what they put into each column
    bool fires = false;                         // its event is one of this change's commands here
};

enum class ReferentialAction { no_action, restrict, cascade, set_null, set_default };

// A foreign key in another table referencing the written one.
struct ReferenceFact {
    std::string constraint;
    std::string table;  // the referencing table, schema-qualified
    ReferentialAction on_delete = ReferentialAction::no_action;
    ReferentialAction on_update = ReferentialAction::no_action;
    bool writes = false;  // cascades or sets values for one of this change's commands
};

// A session holding (or queued for) a lock on the table that matters to this change.
struct LockHolder {
    std::optional<int> pid;  // empty for a prepared transaction
    std::string mode;        // e.g. AccessExclusiveLock
    bool granted = true;
    // The mode conflicts with RowExclusiveLock: the change would wait for it (lock_timeout).
    bool conflicts = false;
    // A transaction that wrote the table (RowExclusiveLock) or locked rows (RowShareLock) may hold
    // row locks on the rows this change touches.
    bool may_hold_row_locks = false;
    std::string user;
    std::string application_name;
    // From pg_stat_activity, visible only when the role may see that session's details.
    bool details_visible = false;
    std::string state;         // e.g. "idle in transaction"
    std::string xact_start;    // UTC, ISO 8601
    std::string state_change;  // UTC, ISO 8601
    std::optional<long long> seconds_in_transaction;
};

struct TableReport {
    std::string schema;
    std::string table;
    std::string qualified;  // schema.table as the catalog names it
    bool found = false;
    std::string owner;
    std::vector<int> statements;  // indexes of the statements that write it
    TablePrivileges privileges;
    RowSecurity row_security;
    std::vector<TriggerFact> triggers;
    std::vector<ReferenceFact> references;
    std::vector<LockHolder> lock_holders;
    std::vector<RuleFact> rules;
    // Why the table is in the change's write closure: "statement 1", "trigger _500_audit on
    // app_public.application", "foreign key status_application_fk (ON DELETE CASCADE) from
    // app_public.application", "rule log_insert on ...". Statements first.
    std::vector<std::string> reached_by;
    // The commands that can write it: "INSERT", "UPDATE", "DELETE" (MERGE counts as all three).
    std::vector<std::string> commands;
    bool append_only = false;  // declared by the environment: shown, never reverted
    // Privileges a revert needs here and the role lacks: DELETE for rows the change inserts,
    // UPDATE for rows it updates, INSERT for rows it deletes.
    std::vector<Privilege> revert_missing;
};

// A table a statement reads but does not write: its row security decides which rows a subquery,
// join or USING sees, and so how many rows the statement changes.
struct ReadTableReport {
    std::string qualified;
    std::vector<int> statements;
    RowSecurity row_security;  // for SELECT, as the role
};

// Where a function is called from decides what it may do: a change's functions may write (their
// writes join the closure), a verify query's must be read-only and STABLE or IMMUTABLE.
enum class CallPlace { change, verify };

// An application function a statement or verify query calls (directly, or through the functions
// it calls), as resolved on the target, and whether datafix vouches for it
// (target/preflight_functions.hpp).
struct FunctionReport {
    std::string name;       // schema.function
    std::string signature;  // regprocedure, e.g. app_public.normalize_name(text)
    CallPlace place = CallPlace::change;
    std::string language;    // pg_language.lanname
    std::string volatility;  // "immutable", "stable", "volatile"
    bool security_definer = false;
    std::string owner;
    std::vector<std::string> settings;   // parameters its definition SETs, by name only
    std::vector<std::string> called_by;  // "statement 1", "verify query 2", a function's signature
    // Tables its body writes (and the functions it calls write), schema-qualified where they
    // resolve, with the command.
    std::vector<sql::BodyWrite> write_commands;
    bool vouched = true;
    std::string refusal;  // why not, naming functions only (never values)
    std::string hint;
};

struct StatementReport {
    int index = 0;
    StatementKind kind = StatementKind::update;
    std::string table;       // schema.table
    std::string normalized;  // literals replaced by $n
    std::optional<long long> declared;
    std::optional<long long> estimated;  // EXPLAIN's rows for the statement's row source
    std::string estimate_unavailable;    // why there is no estimate (error, skipped)
    bool estimate_far = false;           // see estimate_is_far
    std::string table_lock;              // RowExclusiveLock for all DML
    std::string row_locks;               // which row locks the statement takes
};

enum class FindingKind {
    table_missing,
    no_schema_usage,
    missing_privilege,
    rows_hidden_by_rls,
    lock_conflict,
    row_lock_holder,
    estimate_far,
    estimate_unavailable,
    trigger_may_skip_rows,
    unknown_writes,
    capture_incomplete,
    revert_privilege,
    revert_inexact,
    role_change,
    read_rows_hidden_by_rls,
    function_refused,
};

enum class Severity { blocker, warning };

// One thing worth a person's attention, with what to do about it.
struct Finding {
    FindingKind kind = FindingKind::missing_privilege;
    Severity severity = Severity::warning;
    int statement = 0;  // 0 when it is about a table, not one statement
    std::string table;
    std::string message;
    std::string hint;
};

struct PreflightReport {
    std::string environment;
    std::string system_identifier;
    std::string server_version;
    std::string login;
    std::string role;
    std::string generated_at;  // server time, UTC, ISO 8601
    std::vector<TableReport> tables;
    std::vector<ReadTableReport> read_tables;
    std::vector<StatementReport> statements;
    std::vector<Finding> findings;
    std::vector<FunctionReport> functions;
    // Trigger functions whose writes cannot be read (dynamic SQL): capture then reads every table
    // of the application's schemas instead of the closure alone.
    std::vector<std::string> unknown_writes;
    // Whether the role may SET session_replication_role (GRANT SET ON PARAMETER), and whether the
    // environment asks revert to use it.
    bool role_may_disable_triggers = false;
    bool revert_without_triggers = false;
    // Why a revert of this change could not put every row back exactly (empty: it can), and the
    // table each one is about ("" for the environment as a whole), in step: the evidence keeps
    // only those about tables the change really wrote.
    std::vector<std::string> revert_hazards;
    std::vector<std::string> revert_hazard_tables;

    bool has_blockers() const;
    // The first function_refused finding, if any: preview and apply refuse to run then.
    const Finding* function_refusal() const;
    const TableReport* table_for(int statement_index) const;
    const StatementReport* statement(int index) const;
};

// "Far" means the change would surprise: the estimate is outside [declared/10, declared*10] and
// more than 10 rows away from it. The planner's estimates are rough (it clamps to at least one
// row, and statistics lag), so only an order of magnitude is worth a warning.
bool estimate_is_far(long long declared, long long estimated);

// Connects through the guards (leader, pin, role; SET ROLE), reads everything in a READ ONLY
// transaction and rolls it back. Throws what Session::open throws.
PreflightReport build_preflight(const EnvironmentTarget& target, const ChangePlan& plan);

// On a connection that already passed run_guards and is not in a transaction.
PreflightReport build_preflight(Connection& connection, const SessionFacts& facts,
                                const EnvironmentTarget& target, const ChangePlan& plan);

std::string_view privilege_name(Privilege privilege);
std::string_view policy_command_name(PolicyCommand command);
std::string_view sql_command(StatementKind kind);  // "UPDATE", ...
std::string_view finding_kind_name(FindingKind kind);
std::string_view severity_name(Severity severity);

}  // namespace datafix::targetdb
