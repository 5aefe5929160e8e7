// Guards: every refusal names the environment and says what to do.
#include "targetdb/guards.hpp"

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "targetdb/connection.hpp"

namespace datafix::targetdb {

namespace {

std::string milliseconds(std::chrono::milliseconds value) {
    return std::to_string(value.count()) + "ms";
}

}  // namespace

void check_leader(Connection& connection, const EnvironmentTarget& target) {
    if (connection.query("SELECT pg_is_in_recovery()").scalar() == "t") {
        throw Error(ErrorCode::target_refused,
                    target.name +
                        ": the server is a replica (pg_is_in_recovery() is true); "
                        "datafix only changes data on the leader",
                    "point the conninfo at the leader, or list all hosts with "
                    "target_session_attrs=read-write");
    }
}

std::string check_pin(Connection& connection, const EnvironmentTarget& target) {
    auto actual =
        connection.query("SELECT system_identifier::text FROM pg_control_system()").scalar();
    if (target.pinned_system_identifier.empty()) {
        throw Error(ErrorCode::config,
                    target.name + ": no system identifier is pinned for this environment",
                    "pin it in the configuration: system_identifier = \"" + actual + "\"");
    }
    if (actual != target.pinned_system_identifier) {
        throw Error(ErrorCode::target_refused,
                    target.name + ": wrong cluster: its system identifier is " + actual +
                        ", the environment is pinned to " + target.pinned_system_identifier,
                    "check the conninfo (host, port, service) for " + target.name +
                        "; change the pin only if the cluster was rebuilt on purpose");
    }
    return actual;
}

void check_role(Connection& connection, const EnvironmentTarget& target, SessionFacts& facts) {
    if (target.role.empty()) {
        throw Error(ErrorCode::config, target.name + ": no role is configured",
                    "set role = \"<the application's owner role>\" for the environment");
    }
    auto r = connection.query(
        "SELECT r.rolsuper, r.rolbypassrls, pg_has_role(session_user, r.oid, 'MEMBER'), "
        "       (SELECT s.rolsuper FROM pg_roles s WHERE s.rolname = session_user), "
        "       session_user::text "
        "FROM pg_roles r WHERE r.rolname = $1",
        {target.role});
    if (r.rows.empty()) {
        throw Error(ErrorCode::target_refused,
                    target.name + ": role " + target.role + " does not exist",
                    "configure the role that owns the application's tables");
    }
    facts.login = r.at(0, 4).value_or("");
    facts.login_is_superuser = r.at(0, 3).value_or("f") == "t";
    facts.role_bypasses_rls = r.at(0, 1).value_or("f") == "t";
    if (r.at(0, 0).value_or("f") == "t") {
        throw Error(ErrorCode::target_refused,
                    target.name + ": role " + target.role +
                        " is a superuser; datafix never changes data as a superuser",
                    "configure the application's owner role (e.g. the one migrations run as)");
    }
    if (facts.login_is_superuser && !target.allow_superuser_login) {
        throw Error(ErrorCode::target_refused,
                    target.name + ": login " + facts.login +
                        " is a superuser; a single statement could leave role " + target.role +
                        " before any check runs (server files, dblink, "
                        "session_replication_role)",
                    "log in as a login that is no superuser and is granted " + target.role +
                        " (GRANT " + target.role +
                        " TO <login>;), or set allow_superuser_login = true for " + target.name +
                        " (every evidence then says so)");
    }
    if (r.at(0, 2).value_or("f") != "t") {
        throw Error(ErrorCode::target_refused,
                    target.name + ": login " + facts.login + " cannot become role " + target.role,
                    "GRANT " + target.role + " TO " + facts.login + ";");
    }
}

void configure_session(Connection& connection, const EnvironmentTarget& target) {
    connection.query("SET ROLE " + connection.quote_identifier(target.role));
    const std::pair<const char*, std::string> settings[] = {
        {"lock_timeout", milliseconds(target.lock_timeout)},
        {"statement_timeout", milliseconds(target.statement_timeout)},
        {"idle_in_transaction_session_timeout",
         milliseconds(target.idle_in_transaction_session_timeout)},
        {"application_name", target.application_name},
        // The SQL guard parsed the text with standard conforming strings: so must the server.
        {"standard_conforming_strings", "on"},
        // The capture's sorts (EnvironmentTarget::work_mem).
        {"work_mem", target.work_mem},
    };
    for (const auto& [name, value] : settings) {
        connection.query("SELECT set_config($1, $2, false)", {name, value});
    }
    for (const auto& [name, value] : target.session_settings) {
        connection.query("SELECT set_config($1, $2, false)", {name, value});
    }
    // datafix's own queries (capture, pre-flight, checks) call PostgreSQL's functions unqualified;
    // with another schema searched before pg_catalog, an application's now() or count() would run
    // in their place. PostgreSQL searches pg_catalog first unless search_path names it later.
    auto first = connection.query("SELECT (pg_catalog.current_schemas(true))[1]").scalar();
    if (first != "pg_catalog") {
        throw Error(ErrorCode::target_refused,
                    target.name + ": the session's search_path puts " + first +
                        " before pg_catalog, so the application's functions would be called in "
                        "place of PostgreSQL's",
                    "leave pg_catalog out of search_path (PostgreSQL then searches it first) or "
                    "name it first, in datafix.toml's session_settings, or in the login's or the "
                    "database's own default (ALTER ROLE / ALTER DATABASE ... SET search_path)");
    }
}

namespace {

// What the session must still be after every statement and right before COMMIT: the settings
// datafix pinned (pg_settings shows the timeouts in milliseconds), the ones that change how the
// server parses the text the SQL guard read, and the ones that would switch triggers off.
constexpr const char* kInvariantsSql = R"(
SELECT current_user::text,
       (SELECT json_object_agg(name, setting) FROM pg_settings
        WHERE name IN ('lock_timeout', 'statement_timeout', 'idle_in_transaction_session_timeout',
                       'standard_conforming_strings', 'session_replication_role'))::text)";

std::string ms_text(std::chrono::milliseconds value) {
    return std::to_string(value.count());
}

}  // namespace

void check_still_role(Connection& connection, const EnvironmentTarget& target,
                      const std::string& where) {
    auto r = connection.query(kInvariantsSql);
    auto current = r.at(0, 0).value_or("");
    if (current != target.role) {
        throw Error(ErrorCode::escape,
                    target.name + ": the session left role " + target.role + " (current_user is " +
                        current + ") " + where + "; the transaction was rolled back",
                    "a statement changed the role; remove whatever calls set_config('role', ...) "
                    "or SET ROLE and review the change with the pair");
    }
    std::vector<std::pair<std::string, std::string>> expected = {
        {"lock_timeout", ms_text(target.lock_timeout)},
        {"statement_timeout", ms_text(target.statement_timeout)},
        {"idle_in_transaction_session_timeout",
         ms_text(target.idle_in_transaction_session_timeout)},
        {"standard_conforming_strings", "on"},
        {"session_replication_role", "origin"},
    };
    std::string changed;
    auto settings = nlohmann::json::parse(r.at(0, 1).value_or("{}"), nullptr, false);
    for (const auto& [name, value] : expected) {
        if (!settings.is_object() || settings.value(name, std::string()) != value) {
            changed += (changed.empty() ? "" : ", ") + name;
        }
    }
    std::vector<std::string> names;
    for (const auto& [name, value] : target.session_settings) {
        names.push_back(name);
    }
    for (const auto& name : names) {
        auto now = connection.query("SELECT current_setting($1, true)", {name}).scalar();
        if (now != target.session_settings.at(name)) {
            changed += (changed.empty() ? "" : ", ") + name;
        }
    }
    if (!changed.empty()) {
        throw Error(ErrorCode::escape,
                    target.name + ": a setting datafix pinned changed " + where + " (" + changed +
                        "); the transaction was rolled back",
                    "a statement called set_config or SET; remove it and review the change with "
                    "the pair");
    }
}

SessionFacts run_guards(Connection& connection, const EnvironmentTarget& target) {
    SessionFacts facts;
    facts.environment = target.name;
    facts.backend_pid = connection.backend_pid();
    check_leader(connection, target);
    facts.system_identifier = check_pin(connection, target);
    check_role(connection, target, facts);
    configure_session(connection, target);
    check_still_role(connection, target, "after SET ROLE");
    facts.role = target.role;
    facts.server_version = connection.query("SHOW server_version").scalar();
    return facts;
}

}  // namespace datafix::targetdb
