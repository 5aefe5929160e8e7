// Mismatch and error explanations from pre-flight facts. The facts come first (the one most
// likely to explain the failure), the HINT says what to change; when the report holds nothing
// relevant the caller's own message stands alone.
#include "targetdb/preflight_explain.hpp"

#include <algorithm>

namespace datafix::targetdb {

namespace {

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

PolicyCommand policy_command_for(StatementKind kind) {
    switch (kind) {
        case StatementKind::insert:
            return PolicyCommand::insert;
        case StatementKind::update:
            return PolicyCommand::update;
        case StatementKind::delete_:
            return PolicyCommand::delete_;
        case StatementKind::merge:
            return PolicyCommand::update;
    }
    return PolicyCommand::update;
}

const CommandAccess* access_for(const RowSecurity& rls, PolicyCommand command) {
    auto it = std::find_if(rls.commands.begin(), rls.commands.end(),
                           [&](const CommandAccess& a) { return a.command == command; });
    return it == rls.commands.end() ? nullptr : &*it;
}

std::string rls_words(const RowSecurity& rls) {
    return rls.forced ? "FORCE ROW LEVEL SECURITY" : "ROW LEVEL SECURITY";
}

std::string unqualified(const std::string& name) {
    auto paren = name.find('(');
    std::string base = paren == std::string::npos ? name : name.substr(0, paren);
    auto dot = base.rfind('.');
    return dot == std::string::npos ? base : base.substr(dot + 1);
}

std::string describe_trigger(const TriggerFact& t, const TableReport& table) {
    std::string timing = t.timing == TriggerTiming::before  ? "BEFORE"
                         : t.timing == TriggerTiming::after ? "AFTER"
                                                            : "INSTEAD OF";
    return "trigger " + t.name + " (" + timing + " " + join(t.events, " OR ") + " " +
           (t.level == TriggerLevel::row ? "FOR EACH ROW" : "FOR EACH STATEMENT") + " on " +
           table.qualified + ", function " + t.function + ")";
}

std::string describe_holder(const LockHolder& h) {
    std::string who =
        h.pid ? "pid " + std::to_string(*h.pid) : std::string("a prepared transaction");
    if (!h.user.empty()) {
        who += " (user " + h.user;
        if (!h.application_name.empty()) {
            who += ", application '" + h.application_name + "'";
        }
        who += ")";
    }
    std::string what = (h.granted ? " holds " : " waits for ") + h.mode;
    std::string since;
    if (!h.xact_start.empty()) {
        since = " in a transaction open since " + h.xact_start;
    }
    if (!h.state.empty()) {
        since += " (" + h.state + ")";
    }
    return who + what + since;
}

// Tables the failure may concern: the statement's, or every written table when unknown.
std::vector<const TableReport*> tables_for(const PreflightReport& report, int statement_index) {
    std::vector<const TableReport*> out;
    for (const auto& t : report.tables) {
        if (statement_index == 0 || std::find(t.statements.begin(), t.statements.end(),
                                              statement_index) != t.statements.end()) {
            out.push_back(&t);
        }
    }
    return out;
}

std::string grants_held(const TablePrivileges& privileges) {
    std::vector<std::string> held;
    for (const auto& p : privileges.privileges) {
        if (p.grant == Grant::table) {
            held.emplace_back(privilege_name(p.privilege));
        } else if (p.grant == Grant::some_columns) {
            held.push_back(std::string(privilege_name(p.privilege)) + " on some columns");
        }
    }
    return held.empty() ? "no privileges" : join(held, ", ");
}

std::string after_word(const std::string& message, const std::string& marker) {
    auto at = message.find(marker);
    if (at == std::string::npos) {
        return {};
    }
    auto rest = message.substr(at + marker.size());
    auto end = rest.find_first_of(" \"");
    return end == std::string::npos ? rest : rest.substr(0, end);
}

Explanation explain_permission(const PreflightReport& report, int statement_index,
                               const DatabaseFailure& failure) {
    const auto& role = report.role;
    auto tables = tables_for(report, statement_index);
    if (failure.message.find("row-level security") != std::string::npos) {
        for (const auto* t : tables) {
            std::vector<std::string> policies;
            for (const auto& p : t->row_security.policies) {
                if (p.applies_to_role) {
                    policies.push_back(p.name);
                }
            }
            const auto* st = report.statement(statement_index);
            std::string command =
                st != nullptr ? std::string(sql_command(st->kind)) : std::string("the change");
            return {t->qualified + " has " + rls_words(t->row_security) + " and a row " + command +
                        " writes (or RETURNING reads back) fails the WITH CHECK or USING of the "
                        "policies that apply to role " +
                        role + " (" +
                        (policies.empty() ? std::string("none apply") : join(policies, ", ")) + ")",
                    "check the policies' WITH CHECK expressions against the new row values, or "
                    "add a policy for " +
                        role + " in a migration"};
        }
        return {};
    }
    auto schema = after_word(failure.message, "permission denied for schema ");
    if (!schema.empty()) {
        return {"role " + role + " has no USAGE on schema " + schema,
                "GRANT USAGE ON SCHEMA " + schema + " TO " + role +
                    "; (as the schema's owner), or configure the role that owns the tables"};
    }
    auto object = after_word(failure.message, "permission denied for table ");
    if (object.empty()) {
        object = after_word(failure.message, "permission denied for sequence ");
    }
    for (const auto* t : tables) {
        if (object.empty() || object == t->table) {
            if (t->privileges.missing.empty()) {
                continue;
            }
            std::vector<std::string> missing;
            for (auto p : t->privileges.missing) {
                missing.emplace_back(privilege_name(p));
            }
            auto list = join(missing, ", ");
            return {"role " + role + " lacks " + list + " on " + t->qualified + " (it has " +
                        grants_held(t->privileges) + "; the table is owned by " + t->owner + ")",
                    "GRANT " + list + " ON " + t->qualified + " TO " + role + "; (as " + t->owner +
                        "), or configure " + t->owner + "'s role for this environment"};
        }
    }
    if (object.empty()) {
        return {};
    }
    // Not the written table: something that fires with it needs the privilege.
    for (const auto* t : tables) {
        for (const auto& trig : t->triggers) {
            bool writes_it = std::any_of(
                trig.writes.begin(), trig.writes.end(),
                [&](const std::string& w) { return w == object || unqualified(w) == object; });
            if (trig.fires && writes_it) {
                return {"role " + role + " may not write " + object + ", which " +
                            describe_trigger(trig, *t) + " writes",
                        "grant " + role + " the privilege on " + object +
                            " it needs, or make the trigger function SECURITY DEFINER"};
            }
        }
    }
    return {"role " + role + " lacks a privilege on " + object +
                ", which the statement reads or something firing with it uses",
            "GRANT the privilege on " + object + " to " + role + "; (as its owner)"};
}

Explanation explain_lock(const PreflightReport& report, int statement_index) {
    std::vector<std::string> holders;
    for (const auto* t : tables_for(report, statement_index)) {
        for (const auto& h : t->lock_holders) {
            holders.push_back(describe_holder(h) + " on " + t->qualified);
        }
    }
    if (holders.empty()) {
        return {
            "no other session held a lock on the written tables at pre-flight, so the lock "
            "was taken after it",
            "run pre-flight again to see who holds it, then retry when it has finished"};
    }
    // The connection's own hint for a lock timeout already says to wait and retry.
    return {"at pre-flight, " + join(holders, "; "), ""};
}

std::vector<const TriggerFact*> raising_triggers(const TableReport& table,
                                                 const std::string& context) {
    std::vector<const TriggerFact*> out;
    const std::string marker = "PL/pgSQL function ";
    auto at = context.find(marker);
    if (at != std::string::npos) {
        auto named = context.substr(at + marker.size());
        named = unqualified(named.substr(0, named.find('(')));
        for (const auto& t : table.triggers) {
            if (unqualified(t.function) == named) {
                out.push_back(&t);
            }
        }
        return out;
    }
    for (const auto& t : table.triggers) {
        if (t.fires && t.may_raise) {
            out.push_back(&t);
        }
    }
    return out;
}

Explanation explain_trigger(const PreflightReport& report, int statement_index,
                            const DatabaseFailure& failure) {
    for (const auto* t : tables_for(report, statement_index)) {
        auto triggers = raising_triggers(*t, failure.context);
        if (triggers.empty()) {
            continue;
        }
        std::vector<std::string> named;
        named.reserve(triggers.size());
        for (const auto* trig : triggers) {
            named.push_back(describe_trigger(*trig, *t));
        }
        std::string lead;
        if (!failure.context.empty()) {
            lead = "raised by ";
        } else if (triggers.size() == 1) {
            lead = "raised by ";
            named[0] += ", the only trigger firing for this change that raises errors";
        } else {
            lead = "raised by one of ";
        }
        return {lead + join(named, "; "),
                "the trigger refuses some of the rows (for example archived ones); leave them out "
                "in the WHERE clause, or ask the application's owners; datafix never disables "
                "triggers"};
    }
    return {};
}

Explanation explain_foreign_key(const PreflightReport& report, int statement_index,
                                const DatabaseFailure& failure) {
    for (const auto* t : tables_for(report, statement_index)) {
        for (const auto& r : t->references) {
            if (failure.message.find("\"" + r.constraint + "\"") != std::string::npos) {
                return {"foreign key " + r.constraint + " on " + r.table + " references " +
                            t->qualified + " without ON DELETE CASCADE or SET NULL",
                        "change or delete the referencing rows in " + r.table +
                            " first (in the same change), or keep the referenced rows"};
            }
        }
    }
    return {};
}

bool is_constraint_message(const std::string& message) {
    // The connection names the constraint the server reported (a trigger's RAISE with a
    // constraint's SQLSTATE names none).
    return message.find(" of constraint \"") != std::string::npos ||
           message.find("violates check constraint") != std::string::npos ||
           message.find("violates not-null constraint") != std::string::npos ||
           message.find("violates unique constraint") != std::string::npos ||
           message.find("violates exclusion constraint") != std::string::npos ||
           message.find("violates foreign key constraint") != std::string::npos;
}

}  // namespace

std::string Explanation::text() const {
    return hint.empty() ? message : message + "; HINT: " + hint;
}

std::optional<DatabaseFailure> database_failure_from(const Error& error) {
    if (error.code() != ErrorCode::database) {
        return std::nullopt;
    }
    const auto& text = error.message();
    const std::string marker = " (SQLSTATE ";
    auto at = text.rfind(marker);
    if (at == std::string::npos || at + marker.size() + 5 > text.size()) {
        return std::nullopt;
    }
    DatabaseFailure f;
    f.sqlstate = text.substr(at + marker.size(), 5);
    auto colon = text.find(": ");
    auto start = colon == std::string::npos || colon > at ? 0 : colon + 2;
    f.message = text.substr(start, at - start);
    // The connection keeps the raising PL/pgSQL function (never the CONTEXT's other lines).
    if (auto fn = f.message.find("PL/pgSQL function "); fn != std::string::npos) {
        f.context = f.message.substr(fn);
    }
    return f;
}

Explanation explain_mismatch(const PreflightReport& report, int statement_index, long long declared,
                             long long actual) {
    const auto* st = report.statement(statement_index);
    const auto* table = report.table_for(statement_index);
    std::vector<std::string> facts;
    std::vector<std::string> hints;
    if (table != nullptr && !table->found) {
        facts.push_back(table->qualified + " does not exist in " + report.environment);
    }
    // Rows a subquery, join or USING cannot see: row security of the tables the statement reads.
    if (actual < declared) {
        for (const auto& r : report.read_tables) {
            if (std::find(r.statements.begin(), r.statements.end(), statement_index) ==
                    r.statements.end() ||
                !r.row_security.applies || r.row_security.role_sees_all_rows) {
                continue;
            }
            facts.push_back("the statement reads " + r.qualified + ", which has " +
                            rls_words(r.row_security) + ": role " + report.role +
                            " sees only the rows its policies allow");
            hints.push_back("check the policies on " + r.qualified +
                            " against the rows the request means, or configure a role with "
                            "BYPASSRLS");
        }
    }
    // An INSERT's own table cannot hide rows from it (WITH CHECK refuses with an error instead).
    bool own_table_filters = st == nullptr || st->kind != StatementKind::insert;
    if (table != nullptr && table->found && actual < declared && own_table_filters) {
        const auto& rls = table->row_security;
        auto command = st != nullptr ? policy_command_for(st->kind) : PolicyCommand::update;
        for (auto c : {command, PolicyCommand::select}) {
            const auto* access = access_for(rls, c);
            if (access != nullptr && access->denied) {
                facts.push_back(table->qualified + " has " + rls_words(rls) +
                                " and no policy lets role " + report.role + " " +
                                std::string(policy_command_name(c)));
                hints.push_back("add a policy FOR " + std::string(policy_command_name(c)) +
                                " (or FOR ALL) TO " + report.role + " on " + table->qualified +
                                " through a migration, or configure a role with BYPASSRLS for " +
                                report.environment);
                break;
            }
        }
        if (facts.empty() && rls.applies) {
            const auto* access = access_for(rls, command);
            std::vector<std::string> names;
            if (access != nullptr) {
                names = access->permissive;
                names.insert(names.end(), access->restrictive.begin(), access->restrictive.end());
            }
            facts.push_back(table->qualified + " has " + rls_words(rls) + ": the rows policies " +
                            join(names, ", ") + " hide from role " + report.role +
                            " are not counted");
            hints.emplace_back(
                "check the policies' USING expressions against the rows the request "
                "means");
        }
        for (const auto& t : table->triggers) {
            if (t.fires && t.may_skip_row) {
                facts.push_back("BEFORE trigger " + t.name + " (" + t.function +
                                ") can return NULL, which skips a row without an error");
            }
        }
    }
    if (st != nullptr && st->estimated && !st->estimate_far) {
        // The planner agreed with the declaration, so the data did not obviously change.
    } else if (st != nullptr && st->estimated) {
        facts.push_back("the planner estimated about " + std::to_string(*st->estimated) +
                        " rows before the run");
    }
    if (facts.empty()) {
        facts.push_back(
            std::string("the statement's ") +
            (st != nullptr && st->kind == StatementKind::insert ? "source rows" : "WHERE clause") +
            " matched " + (actual < declared ? "fewer" : "more") + " rows in " +
            report.environment + " than the request declares");
    }
    if (hints.empty()) {
        hints.push_back("compare the rows in " + report.environment +
                        " with those the request means (the verify queries help), then correct "
                        "the statement or the declared count and preview again");
    }
    return {std::to_string(actual) + " rows where " + std::to_string(declared) +
                " were declared: " + join(facts, "; "),
            join(hints, "; ")};
}

Explanation explain_database_error(const PreflightReport& report, int statement_index,
                                   const DatabaseFailure& failure) {
    if (failure.sqlstate == "42501") {
        return explain_permission(report, statement_index, failure);
    }
    if (failure.sqlstate == "55P03") {
        return explain_lock(report, statement_index);
    }
    if (failure.sqlstate == "23503") {
        return explain_foreign_key(report, statement_index, failure);
    }
    if (failure.sqlstate == "57014") {
        const auto* st = report.statement(statement_index);
        if (st != nullptr && st->estimated) {
            return {"the planner estimated " + std::to_string(*st->estimated) +
                        " rows for statement " + std::to_string(statement_index),
                    "raise statement_timeout for this environment, or split the change"};
        }
        return {};
    }
    if (is_constraint_message(failure.message) || failure.sqlstate.rfind("08", 0) == 0 ||
        failure.sqlstate.rfind("57", 0) == 0) {
        return {};
    }
    return explain_trigger(report, statement_index, failure);
}

Error explain_failure(const PreflightReport& report, int statement_index, const Error& error) {
    auto failure = database_failure_from(error);
    if (!failure) {
        return error;
    }
    return with_explanation(error, explain_database_error(report, statement_index, *failure));
}

Error with_explanation(const Error& error, const Explanation& explanation) {
    if (explanation.empty()) {
        return error;
    }
    // The original hint stays first: callers and tests rely on it; the explanation adds to it.
    std::string hint = error.hint();
    if (!explanation.hint.empty()) {
        hint += (hint.empty() ? "" : "; ") + explanation.hint;
    }
    return Error(error.code(), error.message() + "; " + explanation.message, hint);
}

}  // namespace datafix::targetdb
