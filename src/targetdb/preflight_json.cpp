// JSON for the pre-flight report: enums as lowercase or SQL words, absent numbers as null.
#include "targetdb/preflight_json.hpp"

#include <nlohmann/json.hpp>

namespace datafix::targetdb {

namespace {

using nlohmann::json;

json optional_number(const std::optional<long long>& value) {
    return value ? json(*value) : json(nullptr);
}

std::string grant_name(Grant grant) {
    switch (grant) {
        case Grant::table:
            return "table";
        case Grant::some_columns:
            return "some_columns";
        case Grant::none:
            return "none";
    }
    return "none";
}

std::string timing_name(TriggerTiming timing) {
    switch (timing) {
        case TriggerTiming::before:
            return "BEFORE";
        case TriggerTiming::after:
            return "AFTER";
        case TriggerTiming::instead_of:
            return "INSTEAD OF";
    }
    return "AFTER";
}

std::string enabled_name(TriggerEnabled enabled) {
    switch (enabled) {
        case TriggerEnabled::origin:
            return "origin";
        case TriggerEnabled::always:
            return "always";
        case TriggerEnabled::replica:
            return "replica";
        case TriggerEnabled::disabled:
            return "disabled";
    }
    return "origin";
}

std::string action_name(ReferentialAction action) {
    switch (action) {
        case ReferentialAction::no_action:
            return "NO ACTION";
        case ReferentialAction::restrict:
            return "RESTRICT";
        case ReferentialAction::cascade:
            return "CASCADE";
        case ReferentialAction::set_null:
            return "SET NULL";
        case ReferentialAction::set_default:
            return "SET DEFAULT";
    }
    return "NO ACTION";
}

json privileges_json(const TablePrivileges& p) {
    json out = {{"schema_usage", p.schema_usage}};
    for (const auto& fact : p.privileges) {
        std::string key(privilege_name(fact.privilege));
        for (auto& c : key) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        out[key] = {{"grant", grant_name(fact.grant)},
                    {"required", fact.required},
                    {"conditional", fact.conditional}};
    }
    json missing = json::array();
    for (auto m : p.missing) {
        missing.push_back(std::string(privilege_name(m)));
    }
    out["missing"] = missing;
    return out;
}

json row_security_json(const RowSecurity& r) {
    json policies = json::array();
    for (const auto& p : r.policies) {
        policies.push_back({{"name", p.name},
                            {"command", std::string(policy_command_name(p.command))},
                            {"permissive", p.permissive},
                            {"roles", p.roles},
                            {"applies_to_role", p.applies_to_role}});
    }
    json commands = json::array();
    for (const auto& c : r.commands) {
        commands.push_back({{"command", std::string(policy_command_name(c.command))},
                            {"permissive", c.permissive},
                            {"restrictive", c.restrictive},
                            {"denied", c.denied}});
    }
    return {{"enabled", r.enabled},
            {"forced", r.forced},
            {"role_is_owner", r.role_is_owner},
            {"role_bypasses", r.role_bypasses},
            {"applies", r.applies},
            {"role_sees_all_rows", r.role_sees_all_rows},
            {"policies", policies},
            {"commands", commands}};
}

json trigger_json(const TriggerFact& t) {
    return {{"name", t.name},
            {"timing", timing_name(t.timing)},
            {"level", t.level == TriggerLevel::row ? "ROW" : "STATEMENT"},
            {"events", t.events},
            {"enabled", enabled_name(t.enabled)},
            {"function", t.function},
            {"fires", t.fires},
            {"writes", t.writes},
            {"may_raise", t.may_raise},
            {"may_skip_row", t.may_skip_row},
            {"assigns_new", t.assigns_new},
            {"role_changes", t.role_changes},
            {"roles_not_granted", t.roles_not_granted},
            {"security_definer", t.security_definer},
            {"dynamic_sql", t.dynamic_sql}};
}

json holder_json(const LockHolder& h) {
    return {{"pid", h.pid ? json(*h.pid) : json(nullptr)},
            {"mode", h.mode},
            {"granted", h.granted},
            {"conflicts", h.conflicts},
            {"may_hold_row_locks", h.may_hold_row_locks},
            {"user", h.user},
            {"application_name", h.application_name},
            {"details_visible", h.details_visible},
            {"state", h.state},
            {"xact_start", h.xact_start},
            {"state_change", h.state_change},
            {"seconds_in_transaction", optional_number(h.seconds_in_transaction)}};
}

json table_json(const TableReport& t) {
    json triggers = json::array();
    for (const auto& trig : t.triggers) {
        triggers.push_back(trigger_json(trig));
    }
    json references = json::array();
    for (const auto& r : t.references) {
        references.push_back({{"constraint", r.constraint},
                              {"table", r.table},
                              {"on_delete", action_name(r.on_delete)},
                              {"on_update", action_name(r.on_update)},
                              {"writes", r.writes}});
    }
    json holders = json::array();
    for (const auto& h : t.lock_holders) {
        holders.push_back(holder_json(h));
    }
    json rules = json::array();
    for (const auto& r : t.rules) {
        rules.push_back({{"name", r.name},
                         {"event", r.event},
                         {"instead", r.instead},
                         {"writes", r.writes},
                         {"fires", r.fires}});
    }
    json revert_missing = json::array();
    for (auto p : t.revert_missing) {
        revert_missing.push_back(std::string(privilege_name(p)));
    }
    return {{"schema", t.schema},
            {"table", t.table},
            {"qualified", t.qualified},
            {"found", t.found},
            {"owner", t.owner},
            {"statements", t.statements},
            {"privileges", privileges_json(t.privileges)},
            {"row_security", row_security_json(t.row_security)},
            {"triggers", triggers},
            {"references", references},
            {"rules", rules},
            {"reached_by", t.reached_by},
            {"commands", t.commands},
            {"append_only", t.append_only},
            {"revert_missing", revert_missing},
            {"lock_holders", holders}};
}

json statement_json(const StatementReport& s) {
    return {{"index", s.index},
            {"kind", std::string(sql_command(s.kind))},
            {"table", s.table},
            {"normalized", s.normalized},
            {"declared_rows", optional_number(s.declared)},
            {"estimated_rows", optional_number(s.estimated)},
            {"estimate_unavailable",
             s.estimate_unavailable.empty() ? json(nullptr) : json(s.estimate_unavailable)},
            {"estimate_far", s.estimate_far},
            {"table_lock", s.table_lock},
            {"row_locks", s.row_locks}};
}

}  // namespace

nlohmann::json preflight_to_json(const PreflightReport& report) {
    json statements = json::array();
    for (const auto& s : report.statements) {
        statements.push_back(statement_json(s));
    }
    json tables = json::array();
    for (const auto& t : report.tables) {
        tables.push_back(table_json(t));
    }
    json read_tables = json::array();
    for (const auto& r : report.read_tables) {
        read_tables.push_back({{"qualified", r.qualified},
                               {"statements", r.statements},
                               {"row_security", row_security_json(r.row_security)}});
    }
    json functions = json::array();
    for (const auto& f : report.functions) {
        json writes = json::array();
        for (const auto& w : f.write_commands) {
            writes.push_back({{"table", w.table}, {"command", w.command}});
        }
        functions.push_back({{"name", f.name},
                             {"signature", f.signature},
                             {"place", f.place == CallPlace::change ? "change" : "verify"},
                             {"language", f.language},
                             {"volatility", f.volatility},
                             {"security_definer", f.security_definer},
                             {"owner", f.owner},
                             {"settings", f.settings},
                             {"called_by", f.called_by},
                             {"writes", writes},
                             {"vouched", f.vouched},
                             {"refusal", f.vouched ? json(nullptr) : json(f.refusal)}});
    }
    json findings = json::array();
    for (const auto& f : report.findings) {
        findings.push_back({{"kind", std::string(finding_kind_name(f.kind))},
                            {"severity", std::string(severity_name(f.severity))},
                            {"statement", f.statement == 0 ? json(nullptr) : json(f.statement)},
                            {"table", f.table},
                            {"message", f.message},
                            {"hint", f.hint}});
    }
    return {{"environment", report.environment},
            {"system_identifier", report.system_identifier},
            {"server_version", report.server_version},
            {"login", report.login},
            {"role", report.role},
            {"generated_at", report.generated_at},
            {"ok", !report.has_blockers()},
            {"statements", statements},
            {"tables", tables},
            {"read_tables", read_tables},
            {"functions", functions},
            {"unknown_writes", report.unknown_writes},
            {"role_may_disable_triggers", report.role_may_disable_triggers},
            {"revert_without_triggers", report.revert_without_triggers},
            {"revert_exact", report.revert_hazards.empty()},
            {"revert_hazards", report.revert_hazards},
            {"findings", findings}};
}

}  // namespace datafix::targetdb
