// Findings from pre-flight facts. Blockers are facts that make the run fail or change nothing
// (a missing privilege, rows hidden by row security); warnings are facts that may (a lock held
// now, an estimate far from the declaration).
#include "targetdb/preflight_findings.hpp"

#include "targetdb/preflight_closure.hpp"
#include "targetdb/preflight_functions.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace datafix::targetdb {

namespace {

void add(PreflightReport& report, FindingKind kind, Severity severity, int statement,
         const std::string& table, std::string message, std::string hint) {
    report.findings.push_back(
        Finding{kind, severity, statement, table, std::move(message), std::move(hint)});
}

std::string join(const std::vector<std::string>& parts, const std::string& separator) {
    std::string out;
    for (const auto& p : parts) {
        if (!out.empty()) {
            out += separator;
        }
        out += p;
    }
    return out;
}

std::string holder_text(const LockHolder& h) {
    std::string who =
        h.pid ? "pid " + std::to_string(*h.pid) : std::string("a prepared transaction");
    if (!h.user.empty()) {
        who += " (user " + h.user +
               (h.application_name.empty() ? "" : ", application '" + h.application_name + "'") +
               ")";
    }
    std::string since = h.xact_start.empty() ? "" : " since " + h.xact_start;
    if (!h.state.empty()) {
        since += " (" + h.state + ")";
    }
    return who + (h.granted ? " holds " : " is queued for ") + h.mode + since;
}

void table_findings(PreflightReport& report, const TableReport& t) {
    if (!t.found) {
        add(report, FindingKind::table_missing, Severity::blocker, 0, t.qualified,
            t.qualified + " does not exist in " + report.environment,
            "check the schema and table names, and that the migrations ran in " +
                report.environment);
        return;
    }
    if (!t.privileges.schema_usage) {
        add(report, FindingKind::no_schema_usage, Severity::blocker, 0, t.qualified,
            "role " + report.role + " has no USAGE on schema " + t.schema,
            "GRANT USAGE ON SCHEMA " + t.schema + " TO " + report.role + ";");
    }
    for (auto p : t.privileges.missing) {
        std::string name(privilege_name(p));
        add(report, FindingKind::missing_privilege, Severity::blocker, 0, t.qualified,
            "role " + report.role + " lacks " + name + " on " + t.qualified +
                ", which this change needs (owner: " + t.owner + ")",
            "GRANT " + name + " ON " + t.qualified + " TO " + report.role + "; (as " + t.owner +
                "), or configure the owner's role for " + report.environment);
    }
    std::vector<std::string> denied;
    for (const auto& access : t.row_security.commands) {
        if (access.denied) {
            denied.emplace_back(policy_command_name(access.command));
        }
    }
    if (!denied.empty()) {
        std::string commands = join(denied, " or ");
        add(report, FindingKind::rows_hidden_by_rls, Severity::blocker, 0, t.qualified,
            t.qualified + " has " +
                (t.row_security.forced ? "FORCE ROW LEVEL SECURITY" : "ROW LEVEL SECURITY") +
                " and no policy lets role " + report.role + " " + commands +
                (t.statements.empty() ? ": the evidence cannot show the rows written there"
                                      : ": the change will see no rows"),
            "add a policy FOR " + denied.front() + " (or FOR ALL) TO " + report.role + " on " +
                t.qualified + " through a migration, or configure a role with BYPASSRLS");
    }
    for (const auto& h : t.lock_holders) {
        if (h.conflicts) {
            add(report, FindingKind::lock_conflict, Severity::warning, 0, t.qualified,
                holder_text(h) + " on " + t.qualified +
                    ", which conflicts with the RowExclusiveLock the change takes: a run now "
                    "would wait, then fail at lock_timeout",
                "wait for that transaction to end (or ask its owner to end it), then run "
                "pre-flight again");
        } else if (h.may_hold_row_locks) {
            add(report, FindingKind::row_lock_holder, Severity::warning, 0, t.qualified,
                holder_text(h) + " on " + t.qualified +
                    ": its transaction may hold row locks a run would wait for",
                "if the run times out on a lock, wait for that transaction to end");
        }
    }
    for (const auto& trig : t.triggers) {
        if (trig.fires && trig.may_skip_row) {
            add(report, FindingKind::trigger_may_skip_rows, Severity::warning, 0, t.qualified,
                "BEFORE trigger " + trig.name + " (" + trig.function + ") on " + t.qualified +
                    " can return NULL, which skips a row without an error",
                "expect fewer rows than the WHERE clause matches if it does");
        }
    }
}

// A statement on a locked table is not planned; the lock finding already says why.
bool locked(const PreflightReport& report, const std::string& table) {
    for (const auto& f : report.findings) {
        if (f.kind == FindingKind::lock_conflict && f.table == table) {
            return true;
        }
    }
    return false;
}

}  // namespace

std::string statement_list(const std::vector<int>& statements) {
    std::string out;
    for (int s : statements) {
        out += (out.empty() ? "" : ", ") + std::to_string(s);
    }
    return (statements.size() == 1 ? "statement " : "statements ") + out;
}

void read_table_findings(PreflightReport& report) {
    for (const auto& r : report.read_tables) {
        const auto& rls = r.row_security;
        if (!rls.applies) {
            continue;
        }
        std::string words = rls.forced ? "FORCE ROW LEVEL SECURITY" : "ROW LEVEL SECURITY";
        bool denied = std::any_of(rls.commands.begin(), rls.commands.end(),
                                  [](const CommandAccess& a) { return a.denied; });
        if (denied) {
            add(report, FindingKind::read_rows_hidden_by_rls, Severity::blocker, 0, r.qualified,
                statement_list(r.statements) + " read " + r.qualified + ", which has " + words +
                    " and no policy that lets role " + report.role +
                    " SELECT: they see none of its rows",
                "add a policy FOR SELECT TO " + report.role + " on " + r.qualified +
                    " through a migration, or configure a role with BYPASSRLS");
        } else if (!rls.role_sees_all_rows) {
            std::vector<std::string> names;
            for (const auto& p : rls.policies) {
                if (p.applies_to_role) {
                    names.push_back(p.name);
                }
            }
            add(report, FindingKind::read_rows_hidden_by_rls, Severity::warning, 0, r.qualified,
                statement_list(r.statements) + " read " + r.qualified + ", which has " + words +
                    ": policies " + join(names, ", ") + " decide which of its rows role " +
                    report.role + " sees, and so which rows the change finds",
                "if the change finds fewer rows than declared, check those policies");
        }
    }
}

void closure_findings(PreflightReport& report) {
    read_table_findings(report);
    if (!report.unknown_writes.empty()) {
        add(report, FindingKind::unknown_writes, Severity::warning, 0, "",
            "datafix cannot read what these write: " + join(report.unknown_writes, "; ") +
                "; the evidence therefore covers every table of the application's schemas",
            "expect a slower preview; a trigger without dynamic SQL lets datafix name its writes");
    }
    for (const auto& t : report.tables) {
        if (!t.found) {
            continue;
        }
        // A table whose policies deny the role outright has its blocker already.
        bool denied = std::any_of(t.row_security.commands.begin(), t.row_security.commands.end(),
                                  [](const CommandAccess& a) { return a.denied; });
        if (!t.row_security.role_sees_all_rows && !denied) {
            add(report, FindingKind::capture_incomplete, Severity::blocker, 0, t.qualified,
                "row security hides rows of " + t.qualified + " from role " + report.role +
                    ", so the evidence could miss rows the change writes there (reached by " +
                    join(t.reached_by, ", ") + ")",
                "add a policy FOR SELECT TO " + report.role + " USING (true) on " + t.qualified +
                    " through a migration, or configure a role with BYPASSRLS");
        }
        for (auto p : t.revert_missing) {
            std::string name(privilege_name(p));
            add(report, FindingKind::revert_privilege, Severity::warning, 0, t.qualified,
                "a revert of this change would fail: role " + report.role + " lacks " + name +
                    " on " + t.qualified,
                "GRANT " + name + " ON " + t.qualified + " TO " + report.role + "; (as " + t.owner +
                    ") before applying, if this change may need to be reverted");
        }
        for (const auto& trig : t.triggers) {
            if (trig.fires && !trig.role_changes.empty() &&
                (trig.security_definer || !trig.roles_not_granted.empty())) {
                // PostgreSQL refuses both: SET ROLE inside a SECURITY DEFINER function, and a
                // role the session's role is not a member of.
                add(report, FindingKind::role_change, Severity::blocker, 0, t.qualified,
                    "trigger " + trig.name + " on " + t.qualified + " (" + trig.function +
                        ") changes the session's role (" + join(trig.role_changes, ", ") + ")" +
                        (trig.security_definer
                             ? ", which a SECURITY DEFINER function may not do"
                             : " to " + join(trig.roles_not_granted, ", ") + ", which role " +
                                   report.role + " may not become") +
                        ": the change fails with \"permission denied to set role\" or \"cannot "
                        "set parameter role within security-definer function\"",
                    trig.security_definer
                        ? "the trigger function must not SET ROLE; have its owner fix it "
                          "through a migration"
                        : "GRANT " + join(trig.roles_not_granted, ", ") + " TO " + report.role +
                              "; or change the trigger through a migration");
            } else if (trig.fires && !trig.role_changes.empty()) {
                add(report, FindingKind::role_change, Severity::warning, 0, t.qualified,
                    "trigger " + trig.name + " on " + t.qualified + " (" + trig.function +
                        (trig.security_definer ? ", SECURITY DEFINER as " + trig.function_owner
                                               : std::string()) +
                        ") changes the session's role (" + join(trig.role_changes, ", ") +
                        "): the run fails with 'permission denied to set role' unless role " +
                        report.role + " may become that role",
                    "check the role the trigger switches to is granted to " + report.role);
            }
        }
    }
    find_revert_hazards(report);
    if (!report.revert_hazards.empty()) {
        add(report, FindingKind::revert_inexact, Severity::warning, 0, "",
            "this change cannot be reverted exactly: " + join(report.revert_hazards, "; "),
            report.revert_without_triggers && report.role_may_disable_triggers
                ? "grant what is missing before applying, or approve knowing a revert will refuse"
            : report.role_may_disable_triggers
                ? "set revert_without_triggers = true for " + report.environment +
                      " so a revert restores with triggers off, or approve knowing a revert "
                      "will refuse"
                : "GRANT SET ON PARAMETER session_replication_role TO " + report.role +
                      "; and set revert_without_triggers = true for " + report.environment +
                      ", or approve knowing a revert will refuse");
    }
}

void add_findings(PreflightReport& report) {
    add_function_findings(report);
    for (const auto& t : report.tables) {
        table_findings(report, t);
    }
    closure_findings(report);
    for (const auto& s : report.statements) {
        if (s.estimate_far) {
            add(report, FindingKind::estimate_far, Severity::warning, s.index, s.table,
                "statement " + std::to_string(s.index) + " declares " +
                    std::to_string(*s.declared) + " rows; the planner estimates " +
                    std::to_string(*s.estimated),
                "check the WHERE clause and the declared count; the estimate is rough, a run "
                "shows the real count");
        } else if (!s.estimate_unavailable.empty() && !locked(report, s.table)) {
            add(report, FindingKind::estimate_unavailable, Severity::warning, s.index, s.table,
                "statement " + std::to_string(s.index) +
                    " has no estimate: " + s.estimate_unavailable,
                "see the other findings for this table");
        }
    }
}

std::string_view privilege_name(Privilege privilege) {
    switch (privilege) {
        case Privilege::select:
            return "SELECT";
        case Privilege::insert:
            return "INSERT";
        case Privilege::update:
            return "UPDATE";
        case Privilege::delete_:
            return "DELETE";
    }
    return "?";
}

std::string_view policy_command_name(PolicyCommand command) {
    switch (command) {
        case PolicyCommand::all:
            return "ALL";
        case PolicyCommand::select:
            return "SELECT";
        case PolicyCommand::insert:
            return "INSERT";
        case PolicyCommand::update:
            return "UPDATE";
        case PolicyCommand::delete_:
            return "DELETE";
    }
    return "?";
}

std::string_view sql_command(StatementKind kind) {
    switch (kind) {
        case StatementKind::insert:
            return "INSERT";
        case StatementKind::update:
            return "UPDATE";
        case StatementKind::delete_:
            return "DELETE";
        case StatementKind::merge:
            return "MERGE";
    }
    return "?";
}

std::string_view finding_kind_name(FindingKind kind) {
    switch (kind) {
        case FindingKind::table_missing:
            return "table_missing";
        case FindingKind::no_schema_usage:
            return "no_schema_usage";
        case FindingKind::missing_privilege:
            return "missing_privilege";
        case FindingKind::rows_hidden_by_rls:
            return "rows_hidden_by_rls";
        case FindingKind::lock_conflict:
            return "lock_conflict";
        case FindingKind::row_lock_holder:
            return "row_lock_holder";
        case FindingKind::estimate_far:
            return "estimate_far";
        case FindingKind::estimate_unavailable:
            return "estimate_unavailable";
        case FindingKind::trigger_may_skip_rows:
            return "trigger_may_skip_rows";
        case FindingKind::unknown_writes:
            return "unknown_writes";
        case FindingKind::capture_incomplete:
            return "capture_incomplete";
        case FindingKind::revert_privilege:
            return "revert_privilege";
        case FindingKind::revert_inexact:
            return "revert_inexact";
        case FindingKind::role_change:
            return "role_change";
        case FindingKind::read_rows_hidden_by_rls:
            return "read_rows_hidden_by_rls";
        case FindingKind::function_refused:
            return "function_refused";
    }
    return "?";
}

std::string_view severity_name(Severity severity) {
    return severity == Severity::blocker ? "blocker" : "warning";
}

}  // namespace datafix::targetdb
