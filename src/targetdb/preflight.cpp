// Builds the pre-flight report: one READ ONLY transaction, as the configured role, rolled back.
// Locks are read before anything plans a statement, and a statement whose table another session
// has locked is not planned, so building the report never waits behind that session.
#include "targetdb/preflight.hpp"

#include <algorithm>
#include <map>

#include "core/error.hpp"
#include "sql/analysis.hpp"
#include "targetdb/connection.hpp"
#include "targetdb/guards.hpp"
#include "targetdb/preflight_catalog.hpp"
#include "targetdb/preflight_closure.hpp"
#include "targetdb/preflight_estimate.hpp"
#include "targetdb/preflight_findings.hpp"
#include "targetdb/preflight_functions.hpp"
#include "targetdb/preflight_locks.hpp"
#include "targetdb/session.hpp"

namespace datafix::targetdb {

namespace {

// Only the normalized form leaves the target layer; the exact text may hold private values.
std::string normalized_text(const PlannedStatement& statement) {
    try {
        auto analysis = sql::analyze(statement.text, sql::FileRole::change, "preflight");
        if (analysis.statements.size() == 1) {
            return analysis.statements[0].normalized;
        }
    } catch (const Error&) {
        // The plan came through the SQL guard, so this does not happen; say so rather than guess.
    }
    return std::string(sql_command(statement.kind)) + " (statement " +
           std::to_string(statement.index) + ")";
}

struct TableWork {
    std::optional<TableIdentity> identity;
    std::size_t report_index = 0;
};

// The tables the change's application functions write join the closure before it is followed,
// so their triggers, cascades and rules are followed too.
void add_function_writes(Connection& connection, PreflightReport& report,
                         const std::vector<FunctionWrite>& writes,
                         std::vector<TableCommands>& commands,
                         std::vector<std::optional<TableIdentity>>& ids) {
    for (const auto& w : writes) {
        auto dot = w.table.find('.');
        auto id = resolve_table(connection, w.table.substr(0, dot), w.table.substr(dot + 1));
        if (!id) {
            continue;  // resolved when the function was vouched for; gone since is not possible
        }
        std::size_t j = 0;
        while (j < ids.size() && !(ids[j] && ids[j]->oid == id->oid)) {
            ++j;
        }
        if (j == ids.size()) {
            TableReport t;
            t.found = true;
            t.schema = id->schema;
            t.table = id->table;
            t.qualified = id->schema + "." + id->table;
            t.owner = id->owner;
            report.tables.push_back(std::move(t));
            commands.emplace_back();
            ids.emplace_back(*id);
        }
        auto& reached = report.tables[j].reached_by;
        if (std::find(reached.begin(), reached.end(), w.cause) == reached.end()) {
            reached.push_back(w.cause);
        }
        commands[j].add(kind_of_command(w.command));
    }
}

bool has_conflicting_holder(const TableReport& table) {
    return std::any_of(table.lock_holders.begin(), table.lock_holders.end(),
                       [](const LockHolder& h) { return h.conflicts; });
}

}  // namespace

PreflightReport build_preflight(const EnvironmentTarget& target, const ChangePlan& plan) {
    auto connection = Connection::open(target.conninfo, target.name);
    auto facts = run_guards(*connection, target);
    return build_preflight(*connection, facts, target, plan);
}

PreflightReport build_preflight(Connection& connection, const SessionFacts& facts,
                                const EnvironmentTarget& target, const ChangePlan& plan) {
    PreflightReport report;
    report.environment = facts.environment;
    report.system_identifier = facts.system_identifier;
    report.server_version = facts.server_version;
    report.login = facts.login;
    report.role = facts.role;

    Transaction tx(connection);
    connection.query("SET TRANSACTION READ ONLY");
    report.generated_at = connection
                              .query(
                                  "SELECT to_char(now() AT TIME ZONE 'UTC', "
                                  "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
                              .scalar();

    // Tables in the order the statements first write them; keyed as written, since two
    // spellings of one table resolve to the same identity below.
    std::map<std::string, TableWork> work;
    std::vector<std::string> order;
    for (const auto& statement : plan.statements) {
        auto key = statement.capture.schema + "." + statement.capture.table;
        auto [it, inserted] = work.try_emplace(key);
        if (inserted) {
            order.push_back(key);
            it->second.identity =
                resolve_table(connection, statement.capture.schema, statement.capture.table);
        }
    }
    std::map<std::string, std::size_t> by_oid;
    for (const auto& key : order) {
        auto& w = work[key];
        if (w.identity) {
            auto known = by_oid.find(w.identity->oid);
            if (known != by_oid.end()) {
                w.report_index = known->second;
                continue;
            }
            by_oid[w.identity->oid] = report.tables.size();
        }
        w.report_index = report.tables.size();
        TableReport t;
        t.found = w.identity.has_value();
        t.schema = t.found ? w.identity->schema : key.substr(0, key.find('.'));
        t.table = t.found ? w.identity->table : key.substr(key.find('.') + 1);
        t.qualified = t.schema.empty() ? t.table : t.schema + "." + t.table;
        if (t.found) {
            t.owner = w.identity->owner;
        }
        report.tables.push_back(std::move(t));
    }
    // A table written under two spellings needs the union of their commands.
    std::vector<TableCommands> commands(report.tables.size());
    std::vector<const TableIdentity*> identities(report.tables.size(), nullptr);
    for (const auto& statement : plan.statements) {
        const auto& w = work[statement.capture.schema + "." + statement.capture.table];
        commands[w.report_index].add(statement.kind);
        report.tables[w.report_index].statements.push_back(statement.index);
        if (w.identity) {
            identities[w.report_index] = &*w.identity;
        }
    }
    for (auto& table : report.tables) {
        for (int index : table.statements) {
            table.reached_by.push_back("statement " + std::to_string(index));
        }
    }
    std::vector<std::optional<TableIdentity>> closure_ids;
    closure_ids.reserve(identities.size());
    for (const auto* id : identities) {
        closure_ids.push_back(id == nullptr ? std::nullopt : std::optional<TableIdentity>(*id));
    }
    add_function_writes(connection, report, check_functions(connection, report, plan, target),
                        commands, closure_ids);
    add_write_closure(connection, report, commands, closure_ids, target);
    for (std::size_t i = 0; i < report.tables.size(); ++i) {
        if (!closure_ids[i]) {
            continue;
        }
        auto& t = report.tables[i];
        const auto& id = *closure_ids[i];
        // Indirect tables are written by triggers, cascades and rules; the role itself needs to
        // read them (capture), and the revert needs to write them back (see the findings).
        TableCommands own = t.statements.empty() ? TableCommands{} : commands[i];
        t.lock_holders = read_lock_holders(connection, id.oid);
        t.privileges = read_privileges(connection, id, report.role, own);
        t.row_security = read_row_security(connection, id, report.role, own);
        read_revert_privileges(connection, id, report.role, t);
    }
    // Tables the statements only read: their row security hides rows from subqueries and joins.
    for (const auto& statement : plan.statements) {
        for (const auto& spelled : statement.tables_read) {
            auto dot = spelled.find('.');
            auto id =
                resolve_table(connection, dot == std::string::npos ? "" : spelled.substr(0, dot),
                              dot == std::string::npos ? spelled : spelled.substr(dot + 1));
            if (!id) {
                continue;  // a CTE's name, or a table the statement will fail on anyway
            }
            std::string qualified = id->schema + "." + id->table;
            bool written =
                std::any_of(report.tables.begin(), report.tables.end(), [&](const TableReport& t) {
                    return t.qualified == qualified && !t.statements.empty();
                });
            if (written) {
                continue;
            }
            auto it =
                std::find_if(report.read_tables.begin(), report.read_tables.end(),
                             [&](const ReadTableReport& r) { return r.qualified == qualified; });
            if (it == report.read_tables.end()) {
                ReadTableReport r;
                r.qualified = qualified;
                r.row_security = read_row_security(connection, *id, report.role, TableCommands{});
                report.read_tables.push_back(std::move(r));
                it = report.read_tables.end() - 1;
            }
            if (std::find(it->statements.begin(), it->statements.end(), statement.index) ==
                it->statements.end()) {
                it->statements.push_back(statement.index);
            }
        }
    }
    report.role_may_disable_triggers = role_may_disable_triggers(connection, report.role);
    report.revert_without_triggers = target.revert_without_triggers;

    for (const auto& statement : plan.statements) {
        const auto& table =
            report.tables[work[statement.capture.schema + "." + statement.capture.table]
                              .report_index];
        StatementReport s;
        s.index = statement.index;
        s.kind = statement.kind;
        s.table = table.qualified;
        s.normalized = normalized_text(statement);
        s.declared = statement.expected_rows;
        s.table_lock = table_lock_for(statement.kind);
        s.row_locks = row_locks_for(statement.kind);
        if (!table.found) {
            s.estimate_unavailable = "the table does not exist";
        } else if (has_conflicting_holder(table)) {
            s.estimate_unavailable = "not planned: another session holds a lock on " +
                                     table.qualified + " that planning would wait for";
        } else {
            estimate_rows(connection, statement, s);
        }
        report.statements.push_back(std::move(s));
    }

    check_still_role(connection, target, "during pre-flight");
    tx.rollback();

    add_findings(report);
    return report;
}

bool PreflightReport::has_blockers() const {
    return std::any_of(findings.begin(), findings.end(),
                       [](const Finding& f) { return f.severity == Severity::blocker; });
}

const Finding* PreflightReport::function_refusal() const {
    auto it = std::find_if(findings.begin(), findings.end(), [](const Finding& f) {
        return f.kind == FindingKind::function_refused && f.severity == Severity::blocker;
    });
    return it == findings.end() ? nullptr : &*it;
}

const TableReport* PreflightReport::table_for(int statement_index) const {
    auto it = std::find_if(tables.begin(), tables.end(), [&](const TableReport& t) {
        return std::find(t.statements.begin(), t.statements.end(), statement_index) !=
               t.statements.end();
    });
    return it == tables.end() ? nullptr : &*it;
}

const StatementReport* PreflightReport::statement(int index) const {
    auto it = std::find_if(statements.begin(), statements.end(),
                           [&](const StatementReport& s) { return s.index == index; });
    return it == statements.end() ? nullptr : &*it;
}

}  // namespace datafix::targetdb
