// Catalog reads behind the pre-flight report. Privileges and policy membership are asked of the
// server (has_table_privilege, pg_has_role) rather than recomputed here, so inheritance, PUBLIC
// grants and column grants follow PostgreSQL's own rules.
#include "targetdb/preflight_catalog.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <set>

#include "core/error.hpp"
#include "sql/function_body.hpp"
#include "targetdb/connection.hpp"

namespace datafix::targetdb {

namespace {

constexpr const char* kResolveSql = R"(
SELECT c.oid::text, n.nspname::text, c.relname::text, pg_get_userbyid(c.relowner)::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = CASE WHEN $1 = '' THEN to_regclass(quote_ident($2))
                   ELSE to_regclass(format('%I.%I', $1, $2)) END)";

constexpr const char* kPrivilegesSql = R"(
SELECT has_schema_privilege($2::name, c.relnamespace, 'USAGE'),
       has_table_privilege($2::name, c.oid, 'SELECT'),
       has_any_column_privilege($2::name, c.oid, 'SELECT'),
       has_table_privilege($2::name, c.oid, 'INSERT'),
       has_any_column_privilege($2::name, c.oid, 'INSERT'),
       has_table_privilege($2::name, c.oid, 'UPDATE'),
       has_any_column_privilege($2::name, c.oid, 'UPDATE'),
       has_table_privilege($2::name, c.oid, 'DELETE')
FROM pg_class c WHERE c.oid = $1::oid)";

// Ownership for row security means "has the privileges of the owner" (membership with INHERIT),
// which is what pg_has_role(..., 'USAGE') answers.
constexpr const char* kRowSecuritySql = R"(
SELECT c.relrowsecurity, c.relforcerowsecurity,
       pg_has_role($2::name, c.relowner, 'USAGE'),
       (SELECT r.rolbypassrls FROM pg_roles r WHERE r.rolname = $2)
FROM pg_class c WHERE c.oid = $1::oid)";

constexpr const char* kPoliciesSql = R"(
SELECT p.polname::text, p.polcmd::text, p.polpermissive,
       (SELECT json_agg(CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r)::text END
                        ORDER BY 1)
        FROM unnest(p.polroles) r)::text,
       EXISTS (SELECT 1 FROM unnest(p.polroles) r
               WHERE r = 0 OR pg_has_role($2::name, r, 'USAGE')),
       -- pg_get_expr with the table's oid would lock the table (and wait behind its lockers);
       -- without it, it deparses only expressions without column references, which is all a
       -- USING (true) is. The node text is only asked whether it holds a Var or a SubLink.
       coalesce(CASE WHEN strpos(p.polqual::text, '{VAR ') = 0
                      AND strpos(p.polqual::text, '{SUBLINK ') = 0
                     THEN pg_get_expr(p.polqual, 0) END = 'true', false)
FROM pg_policy p WHERE p.polrelid = $1::oid
ORDER BY p.polname)";

// The body only for languages whose source is readable text; for C functions prosrc is a symbol.
constexpr const char* kTriggersSql = R"(
SELECT t.tgname::text, t.tgtype::int, t.tgenabled::text, t.tgfoid::regprocedure::text,
       CASE WHEN l.lanname IN ('plpgsql', 'sql') THEN p.prosrc END, l.lanname::text,
       p.prosecdef, pg_get_userbyid(p.proowner)::text
FROM pg_trigger t
JOIN pg_proc p ON p.oid = t.tgfoid
JOIN pg_language l ON l.oid = p.prolang
WHERE t.tgrelid = $1::oid AND NOT t.tgisinternal
ORDER BY t.tgname)";

constexpr const char* kReferencesSql = R"(
SELECT c.conname::text, format('%s.%s', n.nspname, r.relname), c.confdeltype::text,
       c.confupdtype::text
FROM pg_constraint c
JOIN pg_class r ON r.oid = c.conrelid
JOIN pg_namespace n ON n.oid = r.relnamespace
WHERE c.contype = 'f' AND c.confrelid = $1::oid
ORDER BY 2, 1)";

// Functions a body calls, by name as spelled; the application's own only (pg_catalog's write
// nothing the closure cares about).
constexpr const char* kCalledSql = R"(
SELECT p.oid::text, CASE WHEN l.lanname IN ('plpgsql', 'sql') THEN p.prosrc END, l.lanname::text
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE p.proname = $2 AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND ($1 = '' OR n.nspname = $1)
  AND ($1 <> '' OR n.oid = ANY (current_schemas(false)::regnamespace[]))
ORDER BY p.oid)";

constexpr const char* kRulesSql = R"(
SELECT r.rulename::text, r.ev_type::text, r.is_instead, pg_get_ruledef(r.oid)
FROM pg_rewrite r
WHERE r.ev_class = $1::oid AND r.rulename <> '_RETURN' AND r.ev_enabled <> 'D'
ORDER BY r.rulename)";

// pg_trigger.tgtype bits (PostgreSQL's catalog/pg_trigger.h).
constexpr int kTriggerRow = 1 << 0;
constexpr int kTriggerBefore = 1 << 1;
constexpr int kTriggerInsert = 1 << 2;
constexpr int kTriggerDelete = 1 << 3;
constexpr int kTriggerUpdate = 1 << 4;
constexpr int kTriggerTruncate = 1 << 5;
constexpr int kTriggerInstead = 1 << 6;

bool is_true(const std::optional<std::string>& value) {
    return value.value_or("f") == "t";
}

Grant grant_of(const std::optional<std::string>& whole, const std::optional<std::string>& any) {
    if (is_true(whole)) {
        return Grant::table;
    }
    return is_true(any) ? Grant::some_columns : Grant::none;
}

PolicyCommand policy_command(const std::string& polcmd) {
    if (polcmd == "r") {
        return PolicyCommand::select;
    }
    if (polcmd == "a") {
        return PolicyCommand::insert;
    }
    if (polcmd == "w") {
        return PolicyCommand::update;
    }
    if (polcmd == "d") {
        return PolicyCommand::delete_;
    }
    return PolicyCommand::all;
}

// The writing commands first: they are what a person reading the report looks for.
std::vector<PolicyCommand> needed_commands(const TableCommands& commands) {
    std::vector<PolicyCommand> out;
    if (commands.may_insert()) {
        out.push_back(PolicyCommand::insert);
    }
    if (commands.may_update()) {
        out.push_back(PolicyCommand::update);
    }
    if (commands.may_delete()) {
        out.push_back(PolicyCommand::delete_);
    }
    out.push_back(PolicyCommand::select);
    return out;
}

TriggerEnabled trigger_enabled(const std::string& tgenabled) {
    if (tgenabled == "A") {
        return TriggerEnabled::always;
    }
    if (tgenabled == "R") {
        return TriggerEnabled::replica;
    }
    if (tgenabled == "D") {
        return TriggerEnabled::disabled;
    }
    return TriggerEnabled::origin;
}

ReferentialAction referential_action(const std::string& code) {
    if (code == "r") {
        return ReferentialAction::restrict;
    }
    if (code == "c") {
        return ReferentialAction::cascade;
    }
    if (code == "n") {
        return ReferentialAction::set_null;
    }
    if (code == "d") {
        return ReferentialAction::set_default;
    }
    return ReferentialAction::no_action;
}

// SET ROLE succeeds only for a role the session's role is a member of (it may not exist at all).
bool role_may_become(Connection& connection, const std::string& role, const std::string& target) {
    auto r = connection.query(
        "SELECT pg_has_role($1::name, r.oid, 'MEMBER') FROM pg_roles r WHERE r.rolname = $2",
        {role, target});
    return !r.rows.empty() && r.at(0, 0).value_or("f") == "t";
}

bool writes_rows(ReferentialAction action) {
    return action == ReferentialAction::cascade || action == ReferentialAction::set_null ||
           action == ReferentialAction::set_default;
}

}  // namespace

void TableCommands::add(StatementKind kind) {
    switch (kind) {
        case StatementKind::insert:
            insert = true;
            break;
        case StatementKind::update:
            update = true;
            break;
        case StatementKind::delete_:
            delete_ = true;
            break;
        case StatementKind::merge:
            merge = true;
            break;
    }
}

std::optional<TableIdentity> resolve_table(Connection& connection, const std::string& schema,
                                           const std::string& table) {
    auto r = connection.query(kResolveSql, {schema, table});
    if (r.rows.empty()) {
        return std::nullopt;
    }
    return TableIdentity{r.at(0, 0).value_or(""), r.at(0, 1).value_or(""), r.at(0, 2).value_or(""),
                         r.at(0, 3).value_or("")};
}

TablePrivileges read_privileges(Connection& connection, const TableIdentity& table,
                                const std::string& role, const TableCommands& commands) {
    auto r = connection.query(kPrivilegesSql, {table.oid, role});
    TablePrivileges out;
    const auto& row = r.rows.at(0);
    out.schema_usage = is_true(row[0]);
    // DELETE has no column form.
    out.privileges = {
        {Privilege::select, grant_of(row[1], row[2]), true, false},
        {Privilege::insert, grant_of(row[3], row[4]), commands.insert, commands.merge},
        {Privilege::update, grant_of(row[5], row[6]), commands.update, commands.merge},
        {Privilege::delete_, is_true(row[7]) ? Grant::table : Grant::none, commands.delete_,
         commands.merge},
    };
    for (const auto& p : out.privileges) {
        if (p.required && p.grant != Grant::table) {
            out.missing.push_back(p.privilege);
        }
    }
    return out;
}

RowSecurity read_row_security(Connection& connection, const TableIdentity& table,
                              const std::string& role, const TableCommands& commands) {
    RowSecurity out;
    auto r = connection.query(kRowSecuritySql, {table.oid, role});
    out.enabled = is_true(r.at(0, 0));
    out.forced = is_true(r.at(0, 1));
    out.role_is_owner = is_true(r.at(0, 2));
    out.role_bypasses = is_true(r.at(0, 3));
    out.applies = out.enabled && !(out.role_is_owner && !out.forced) && !out.role_bypasses;

    auto policies = connection.query(kPoliciesSql, {table.oid, role});
    for (const auto& row : policies.rows) {
        PolicyFact p;
        p.name = row[0].value_or("");
        p.command = policy_command(row[1].value_or("*"));
        p.permissive = is_true(row[2]);
        auto roles = nlohmann::json::parse(row[3].value_or("null"));
        if (roles.is_array()) {
            for (const auto& name : roles) {
                p.roles.push_back(name.get<std::string>());
            }
        }
        p.applies_to_role = is_true(row[4]);
        p.using_true = is_true(row[5]);
        out.policies.push_back(std::move(p));
    }
    out.role_sees_all_rows =
        !out.applies || std::any_of(out.policies.begin(), out.policies.end(), [](const auto& p) {
            return p.applies_to_role && p.permissive && p.using_true &&
                   (p.command == PolicyCommand::all || p.command == PolicyCommand::select);
        });
    for (auto command : needed_commands(commands)) {
        CommandAccess access;
        access.command = command;
        for (const auto& p : out.policies) {
            if (!p.applies_to_role || (p.command != PolicyCommand::all && p.command != command)) {
                continue;
            }
            (p.permissive ? access.permissive : access.restrictive).push_back(p.name);
        }
        // Without a permissive policy, row security is default-deny.
        access.denied = out.applies && access.permissive.empty();
        out.commands.push_back(std::move(access));
    }
    return out;
}

std::vector<TriggerFact> read_triggers(Connection& connection, const TableIdentity& table,
                                       const TableCommands& commands, const std::string& role) {
    std::vector<TriggerFact> out;
    auto r = connection.query(kTriggersSql, {table.oid});
    for (const auto& row : r.rows) {
        TriggerFact t;
        t.name = row[0].value_or("");
        int type = std::stoi(row[1].value_or("0"));
        t.timing = (type & kTriggerInstead) != 0  ? TriggerTiming::instead_of
                   : (type & kTriggerBefore) != 0 ? TriggerTiming::before
                                                  : TriggerTiming::after;
        t.level = (type & kTriggerRow) != 0 ? TriggerLevel::row : TriggerLevel::statement;
        bool on_insert = (type & kTriggerInsert) != 0;
        bool on_update = (type & kTriggerUpdate) != 0;
        bool on_delete = (type & kTriggerDelete) != 0;
        if (on_insert) {
            t.events.emplace_back("INSERT");
        }
        if (on_update) {
            t.events.emplace_back("UPDATE");
        }
        if (on_delete) {
            t.events.emplace_back("DELETE");
        }
        if ((type & kTriggerTruncate) != 0) {
            t.events.emplace_back("TRUNCATE");
        }
        t.enabled = trigger_enabled(row[2].value_or("O"));
        t.function = row[3].value_or("");
        // datafix sessions run with session_replication_role = origin.
        bool enabled = t.enabled == TriggerEnabled::origin || t.enabled == TriggerEnabled::always;
        t.fires = enabled &&
                  ((on_insert && commands.may_insert()) || (on_update && commands.may_update()) ||
                   (on_delete && commands.may_delete()));
        t.security_definer = is_true(row[6]);
        t.function_owner = row[7].value_or("");
        if (row[4]) {
            auto body = inspect_function_body(*row[4], row[5].value_or(""));
            add_called_functions(connection, body);
            t.writes = std::move(body.writes);
            t.write_commands = std::move(body.write_commands);
            t.assigns_new = std::move(body.assigns_new);
            t.new_values = std::move(body.new_values);
            t.table_writes = std::move(body.table_writes);
            t.body_unreadable = body.unreadable;
            t.role_changes = std::move(body.role_changes);
            for (const auto& switched_to : body.roles_set) {
                if (!role_may_become(connection, role, switched_to)) {
                    t.roles_not_granted.push_back(switched_to);
                }
            }
            t.dynamic_sql = body.dynamic_sql;
            t.may_raise = body.may_raise;
            // Only a BEFORE ROW trigger's NULL skips the row; AFTER triggers' results are ignored.
            t.may_skip_row = body.returns_null && t.timing == TriggerTiming::before &&
                             t.level == TriggerLevel::row;
        }
        out.push_back(std::move(t));
    }
    return out;
}

std::vector<ReferenceFact> read_references(Connection& connection, const TableIdentity& table,
                                           const TableCommands& commands) {
    std::vector<ReferenceFact> out;
    auto r = connection.query(kReferencesSql, {table.oid});
    for (const auto& row : r.rows) {
        ReferenceFact f;
        f.constraint = row[0].value_or("");
        f.table = row[1].value_or("");
        f.on_delete = referential_action(row[2].value_or("a"));
        f.on_update = referential_action(row[3].value_or("a"));
        f.writes = (commands.may_delete() && writes_rows(f.on_delete)) ||
                   (commands.may_update() && writes_rows(f.on_update));
        out.push_back(std::move(f));
    }
    return out;
}

std::vector<RuleFact> read_rules(Connection& connection, const TableIdentity& table,
                                 const TableCommands& commands) {
    std::vector<RuleFact> out;
    auto r = connection.query(kRulesSql, {table.oid});
    for (const auto& row : r.rows) {
        RuleFact rule;
        rule.name = row[0].value_or("");
        auto ev = row[1].value_or("");
        rule.event = ev == "2" ? "UPDATE" : ev == "3" ? "INSERT" : ev == "4" ? "DELETE" : "SELECT";
        rule.instead = is_true(row[2]);
        rule.fires = (rule.event == "INSERT" && commands.may_insert()) ||
                     (rule.event == "UPDATE" && commands.may_update()) ||
                     (rule.event == "DELETE" && commands.may_delete());
        try {
            auto facts = sql::inspect_rule_definition(row[3].value_or(""));
            rule.write_commands = std::move(facts.write_commands);
            rule.writes = std::move(facts.writes);
            rule.table_writes = std::move(facts.table_writes);
        } catch (const Error&) {
            // pg_get_ruledef's text always parses; if it did not, the rule names no writes.
        }
        out.push_back(std::move(rule));
    }
    return out;
}

void add_called_functions(Connection& connection, FunctionBodyFacts& facts) {
    // Breadth-first through the application's functions; each function is read once.
    std::set<std::string> seen;
    std::vector<std::string> pending = facts.calls;
    for (std::size_t depth = 0; !pending.empty() && depth < 16; ++depth) {
        std::vector<std::string> next;
        for (const auto& name : pending) {
            auto dot = name.rfind('.');
            std::string schema = dot == std::string::npos ? "" : name.substr(0, dot);
            std::string function = dot == std::string::npos ? name : name.substr(dot + 1);
            auto found = connection.query(kCalledSql, {schema, function});
            for (const auto& row : found.rows) {
                if (!seen.insert(row[0].value_or("")).second) {
                    continue;
                }
                if (!row[1]) {
                    continue;  // C functions: nothing to read
                }
                auto body = inspect_function_body(*row[1], row[2].value_or(""));
                for (const auto& w : body.write_commands) {
                    if (std::find(facts.write_commands.begin(), facts.write_commands.end(), w) ==
                        facts.write_commands.end()) {
                        facts.write_commands.push_back(w);
                    }
                    if (std::find(facts.writes.begin(), facts.writes.end(), w.table) ==
                        facts.writes.end()) {
                        facts.writes.push_back(w.table);
                    }
                }
                for (const auto& c : body.role_changes) {
                    if (std::find(facts.role_changes.begin(), facts.role_changes.end(), c) ==
                        facts.role_changes.end()) {
                        facts.role_changes.push_back(c);
                    }
                }
                for (const auto& w : body.table_writes) {
                    if (std::find(facts.table_writes.begin(), facts.table_writes.end(), w) ==
                        facts.table_writes.end()) {
                        facts.table_writes.push_back(w);
                    }
                }
                facts.dynamic_sql = facts.dynamic_sql || body.dynamic_sql;
                facts.unreadable = facts.unreadable || body.unreadable;
                facts.may_raise = facts.may_raise || body.may_raise;
                next.insert(next.end(), body.calls.begin(), body.calls.end());
            }
        }
        pending = std::move(next);
    }
}

FunctionBodyFacts inspect_function_body(const std::string& source, const std::string& language) {
    if (language == "sql") {
        return sql::inspect_sql_body(source);
    }
    try {
        return sql::inspect_plpgsql_body(source);
    } catch (const Error&) {
        // PostgreSQL accepted the function, so this is a body our parser version cannot read:
        // say nothing rather than guess.
        return {};
    }
}

}  // namespace datafix::targetdb
