// The write closure, read from the catalog to a fixpoint: a table joins when something that fires
// on a table already in it writes it, and a table's triggers are read again when it gains a
// command (an UPDATE reached through a cascade fires other triggers than the INSERT before it).
#include "targetdb/preflight_closure.hpp"

#include <algorithm>
#include <map>

#include "targetdb/connection.hpp"
#include "targetdb/preflight_functions.hpp"

namespace datafix::targetdb {

namespace {

constexpr const char* kApplicationTablesSql = R"(
SELECT n.nspname::text, c.relname::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'
ORDER BY 1, 2)";

constexpr const char* kRevertPrivilegesSql = R"(
SELECT has_table_privilege($2::name, $1::oid, 'INSERT'),
       has_table_privilege($2::name, $1::oid, 'UPDATE'),
       has_table_privilege($2::name, $1::oid, 'DELETE'))";

// has_parameter_privilege exists from PostgreSQL 15; a superuser may always.
constexpr const char* kDisableTriggersSql = R"(
SELECT coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = $1), false)
    OR has_parameter_privilege($1::name, 'session_replication_role', 'SET'))";

bool same(const TableCommands& a, const TableCommands& b) {
    return a.insert == b.insert && a.update == b.update && a.delete_ == b.delete_ &&
           a.merge == b.merge;
}

void add_once(std::vector<std::string>& list, const std::string& value) {
    if (std::find(list.begin(), list.end(), value) == list.end()) {
        list.push_back(value);
    }
}

std::string action_text(ReferentialAction action, const char* event) {
    std::string verb = std::string("ON ") + event + " ";
    switch (action) {
        case ReferentialAction::cascade:
            return verb + "CASCADE";
        case ReferentialAction::set_null:
            return verb + "SET NULL";
        case ReferentialAction::set_default:
            return verb + "SET DEFAULT";
        default:
            return verb + "NO ACTION";
    }
}

bool writes_rows(ReferentialAction action) {
    return action == ReferentialAction::cascade || action == ReferentialAction::set_null ||
           action == ReferentialAction::set_default;
}

class ClosureBuilder {
  public:
    ClosureBuilder(Connection& connection, PreflightReport& report,
                   std::vector<TableCommands>& commands,
                   std::vector<std::optional<TableIdentity>>& identities)
        : connection_(connection), report_(report), commands_(commands), ids_(identities) {
        for (std::size_t i = 0; i < ids_.size(); ++i) {
            if (ids_[i]) {
                by_oid_[ids_[i]->oid] = i;
            }
        }
    }

    void run() {
        std::vector<TableCommands> followed(report_.tables.size());
        std::vector<bool> done(report_.tables.size(), false);
        bool changed = true;
        while (changed) {
            changed = false;
            for (std::size_t i = 0; i < report_.tables.size(); ++i) {
                followed.resize(report_.tables.size());
                done.resize(report_.tables.size(), false);
                if (!ids_[i] || (done[i] && same(followed[i], commands_[i]))) {
                    continue;
                }
                done[i] = true;
                followed[i] = commands_[i];
                changed = true;
                follow(i);
            }
            if (!report_.unknown_writes.empty() && !all_tables_added_) {
                add_every_application_table();
                changed = true;
            }
        }
    }

    // `spelled` as a body or the catalog wrote it: "schema.table" or "table".
    void reach(const std::string& spelled, const std::string& command, const std::string& cause) {
        auto dot = spelled.find('.');
        std::string schema = dot == std::string::npos ? "" : spelled.substr(0, dot);
        std::string table = dot == std::string::npos ? spelled : spelled.substr(dot + 1);
        auto id = resolve_table(connection_, schema, table);
        if (!id) {
            add_once(report_.unknown_writes,
                     cause + " writes " + spelled + ", which does not resolve here");
            return;
        }
        std::size_t j = index_of(*id);
        add_once(report_.tables[j].reached_by, cause);
        commands_[j].add(kind_of_command(command));
    }

  private:
    void follow(std::size_t i) {
        const auto id = *ids_[i];
        const auto commands = commands_[i];
        const std::string name = report_.tables[i].qualified;
        auto triggers = read_triggers(connection_, id, commands, report_.role);
        auto references = read_references(connection_, id, commands);
        auto rules = read_rules(connection_, id, commands);
        report_.tables[i].triggers = triggers;
        report_.tables[i].references = references;
        report_.tables[i].rules = rules;
        for (const auto& trig : triggers) {
            if (!trig.fires) {
                continue;
            }
            std::string cause = "trigger " + trig.name + " on " + name;
            if (trig.dynamic_sql) {
                add_once(report_.unknown_writes,
                         cause + " (" + trig.function + " runs dynamic SQL)");
            }
            for (const auto& w : trig.write_commands) {
                reach(w.table, w.command, cause);
            }
        }
        for (const auto& ref : references) {
            if (commands.may_delete() && writes_rows(ref.on_delete)) {
                reach(ref.table, ref.on_delete == ReferentialAction::cascade ? "DELETE" : "UPDATE",
                      "foreign key " + ref.constraint + " (" +
                          action_text(ref.on_delete, "DELETE") + ") to " + name);
            }
            if (commands.may_update() && writes_rows(ref.on_update)) {
                reach(ref.table, "UPDATE",
                      "foreign key " + ref.constraint + " (" +
                          action_text(ref.on_update, "UPDATE") + ") to " + name);
            }
        }
        for (const auto& rule : rules) {
            if (!rule.fires) {
                continue;
            }
            for (const auto& w : rule.write_commands) {
                reach(w.table, w.command, "rule " + rule.name + " on " + name);
            }
        }
    }

    std::size_t index_of(const TableIdentity& id) {
        auto known = by_oid_.find(id.oid);
        if (known != by_oid_.end()) {
            return known->second;
        }
        TableReport t;
        t.found = true;
        t.schema = id.schema;
        t.table = id.table;
        t.qualified = id.schema + "." + id.table;
        t.owner = id.owner;
        report_.tables.push_back(std::move(t));
        commands_.emplace_back();
        ids_.emplace_back(id);
        by_oid_[id.oid] = report_.tables.size() - 1;
        return report_.tables.size() - 1;
    }

    void add_every_application_table() {
        all_tables_added_ = true;
        auto r = connection_.query(kApplicationTablesSql);
        for (const auto& row : r.rows) {
            auto id = resolve_table(connection_, row[0].value_or(""), row[1].value_or(""));
            if (!id) {
                continue;
            }
            std::size_t j = index_of(*id);
            add_once(report_.tables[j].reached_by, "unknown writes (dynamic SQL)");
            for (auto kind :
                 {StatementKind::insert, StatementKind::update, StatementKind::delete_}) {
                commands_[j].add(kind);
            }
        }
    }

    Connection& connection_;
    PreflightReport& report_;
    std::vector<TableCommands>& commands_;
    std::vector<std::optional<TableIdentity>>& ids_;
    std::map<std::string, std::size_t> by_oid_;
    bool all_tables_added_ = false;
};

std::vector<std::string> revert_events(const TableReport& t) {
    std::vector<std::string> events;
    auto has = [&](const char* c) {
        return std::find(t.commands.begin(), t.commands.end(), c) != t.commands.end();
    };
    if (has("INSERT")) {
        events.emplace_back("DELETE");
    }
    if (has("UPDATE")) {
        events.emplace_back("UPDATE");
    }
    if (has("DELETE")) {
        events.emplace_back("INSERT");
    }
    return events;
}

bool fires_on(const std::vector<std::string>& events, const std::vector<std::string>& wanted) {
    return std::any_of(events.begin(), events.end(), [&](const std::string& e) {
        return std::find(wanted.begin(), wanted.end(), e) != wanted.end();
    });
}

std::string joined(const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& p : parts) {
        out += (out.empty() ? "" : ", ") + p;
    }
    return out;
}

}  // namespace

void add_write_closure(Connection& connection, PreflightReport& report,
                       std::vector<TableCommands>& commands,
                       std::vector<std::optional<TableIdentity>>& identities,
                       const EnvironmentTarget& target) {
    ClosureBuilder builder(connection, report, commands, identities);
    builder.run();
    // What runs because a table is written (triggers, defaults, checks) is vouched for; the
    // tables those expressions' functions write join the closure, which is followed again.
    ClosureFunctions functions(connection, report, target);
    for (auto writes = functions.check(identities, commands); !writes.empty();
         writes = functions.check(identities, commands)) {
        for (const auto& w : writes) {
            builder.reach(w.table, w.command, w.cause);
        }
        builder.run();
    }
    for (std::size_t i = 0; i < report.tables.size(); ++i) {
        auto& t = report.tables[i];
        t.commands.clear();
        if (commands[i].may_insert()) {
            t.commands.emplace_back("INSERT");
        }
        if (commands[i].may_update()) {
            t.commands.emplace_back("UPDATE");
        }
        if (commands[i].may_delete()) {
            t.commands.emplace_back("DELETE");
        }
        t.append_only =
            std::find(target.append_only_tables.begin(), target.append_only_tables.end(),
                      t.qualified) != target.append_only_tables.end();
    }
}

StatementKind kind_of_command(const std::string& command) {
    if (command == "INSERT") {
        return StatementKind::insert;
    }
    if (command == "DELETE") {
        return StatementKind::delete_;
    }
    if (command == "MERGE") {
        return StatementKind::merge;
    }
    return StatementKind::update;
}

void read_revert_privileges(Connection& connection, const TableIdentity& table,
                            const std::string& role, TableReport& report) {
    report.revert_missing.clear();
    if (report.append_only) {
        return;
    }
    auto r = connection.query(kRevertPrivilegesSql, {table.oid, role});
    auto held = [&](int column) { return r.at(0, column).value_or("f") == "t"; };
    for (const auto& event : revert_events(report)) {
        if (event == "INSERT" && !held(0)) {
            report.revert_missing.push_back(Privilege::insert);
        } else if (event == "UPDATE" && !held(1)) {
            report.revert_missing.push_back(Privilege::update);
        } else if (event == "DELETE" && !held(2)) {
            report.revert_missing.push_back(Privilege::delete_);
        }
    }
}

bool role_may_disable_triggers(Connection& connection, const std::string& role) {
    try {
        return connection.query(kDisableTriggersSql, {role}).scalar() == "t";
    } catch (const std::exception&) {
        return false;  // an unknown role: the guards have refused it already
    }
}

void find_revert_hazards(PreflightReport& report) {
    report.revert_hazards.clear();
    report.revert_hazard_tables.clear();
    std::string about;  // the table the next hazards are about
    auto hazard = [&](std::string text) {
        report.revert_hazards.push_back(std::move(text));
        report.revert_hazard_tables.push_back(about);
    };
    bool triggers_off = report.revert_without_triggers && report.role_may_disable_triggers;
    if (report.revert_without_triggers && !report.role_may_disable_triggers) {
        hazard("revert_without_triggers is set, but role " + report.role +
               " may not SET session_replication_role");
    }
    auto append_only = [&](const std::string& qualified) {
        for (const auto& t : report.tables) {
            if (t.qualified == qualified || t.table == qualified) {
                return t.append_only;
            }
        }
        return false;
    };
    for (const auto& t : report.tables) {
        if (!t.found || t.append_only) {
            continue;
        }
        about = t.qualified;
        for (auto p : t.revert_missing) {
            hazard("role " + report.role + " lacks " + std::string(privilege_name(p)) + " on " +
                   t.qualified + ", which the revert needs");
        }
        auto events = revert_events(t);
        for (const auto& trig : t.triggers) {
            // In replica mode only ENABLE ALWAYS triggers fire.
            bool fires = trig.enabled == TriggerEnabled::always ||
                         (!triggers_off && trig.enabled == TriggerEnabled::origin);
            if (!fires || !fires_on(trig.events, events)) {
                continue;
            }
            std::string who = "trigger " + trig.name + " on " + t.qualified;
            bool sets_row = trig.timing == TriggerTiming::before &&
                            trig.level == TriggerLevel::row && !trig.assigns_new.empty() &&
                            fires_on(trig.events, {"INSERT", "UPDATE"}) &&
                            fires_on(events, {"INSERT", "UPDATE"});
            if (sets_row) {
                hazard(who + " sets " + joined(trig.assigns_new) +
                       " on the rows the revert puts back");
            }
            if (trig.may_raise) {
                hazard(who + " can refuse the rows the revert puts back");
            }
            for (const auto& w : trig.writes) {
                if (!append_only(w)) {
                    hazard(who + " writes " + w + " during the revert");
                }
            }
            if (trig.dynamic_sql) {
                hazard(who + " runs dynamic SQL during the revert");
            }
        }
        if (!triggers_off) {
            for (const auto& rule : t.rules) {
                if (std::find(events.begin(), events.end(), rule.event) != events.end() &&
                    !rule.writes.empty()) {
                    for (const auto& w : rule.writes) {
                        if (!append_only(w)) {
                            hazard("rule " + rule.name + " on " + t.qualified + " writes " + w +
                                   " during the revert");
                        }
                    }
                }
            }
        }
    }
}

}  // namespace datafix::targetdb
