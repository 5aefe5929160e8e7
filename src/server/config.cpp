// Reading datafix.toml with toml++ and checking it, key by key, so a mistake names its key.
#include "server/config.hpp"

#include <toml++/toml.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "core/error.hpp"
#include "server/api_error.hpp"
#include "server/config_pods.hpp"
#include "server/config_reader.hpp"

namespace datafix::server {

namespace {

using config_detail::config_error;
using config_detail::resolve_path;
using config_detail::TableReader;

bool is_postgres_url(std::string_view url) {
    return url.starts_with("postgresql:") || url.starts_with("postgres:");
}

ServerSettings read_server(const toml::table* table, const std::string& source,
                           const std::string& base_dir) {
    ServerSettings s;
    s.ledger_url = resolve_path(base_dir, "datafix.db");
    s.key_file = resolve_path(base_dir, "datafix.key");
    s.audit_key_file = resolve_path(base_dir, "datafix-audit.key");
    s.data_dir = resolve_path(base_dir, "data");
    if (table == nullptr) {
        return s;
    }
    TableReader r(*table, "server.", source);
    if (auto v = r.string("listen")) {
        s.listen = *v;
    }
    if (auto v = r.integer("port")) {
        if (*v < 0 || *v > 65535) {
            throw config_error(source, r.key("port"), "must be between 0 and 65535");
        }
        s.port = static_cast<int>(*v);
    }
    if (auto v = r.string("ledger")) {
        s.ledger_url = is_postgres_url(*v) ? *v : resolve_path(base_dir, *v);
    }
    if (auto v = r.string("key_file")) {
        s.key_file = resolve_path(base_dir, *v);
        // The audit key lives next to the sealing key unless placed elsewhere.
        s.audit_key_file =
            (std::filesystem::path(s.key_file).parent_path() / "datafix-audit.key").string();
    }
    if (auto v = r.string("audit_key_file")) {
        s.audit_key_file = resolve_path(base_dir, *v);
    }
    if (auto v = r.integer("token_lifetime_days")) {
        if (*v < 1 || *v > 3650) {
            throw config_error(source, r.key("token_lifetime_days"),
                               "must be between 1 and 3650 days");
        }
        s.token_lifetime = std::chrono::days(*v);
    }
    if (auto v = r.string("data_dir")) {
        s.data_dir = resolve_path(base_dir, *v);
    }
    if (auto v = r.string("log_file")) {
        s.log_file = resolve_path(base_dir, *v);
    }
    if (auto v = r.string("log_format")) {
        if (*v == "json") {
            s.log_format = LogFormat::json;
        } else if (*v != "text") {
            throw config_error(source, r.key("log_format"), R"(must be "text" or "json")");
        }
    }
    if (auto v = r.duration("claim_lease")) {
        if (v->count() <= 0) {
            throw config_error(source, r.key("claim_lease"), "must be positive");
        }
        s.claim_lease = *v;
    }
    if (auto v = r.duration("run_lease")) {
        if (*v < std::chrono::seconds(1)) {
            throw config_error(source, r.key("run_lease"), "must be at least 1s");
        }
        s.run_lease = *v;
    }
    if (auto v = r.string("instance")) {
        if (v->empty()) {
            throw config_error(source, r.key("instance"), "must not be empty");
        }
        s.instance = *v;
    }
    if (auto v = r.integer("max_body_bytes")) {
        if (*v < 1024) {
            throw config_error(source, r.key("max_body_bytes"), "must be at least 1024");
        }
        s.max_body_bytes = static_cast<std::size_t>(*v);
    }
    auto bounded = [&](std::string_view name, std::int64_t low, std::int64_t high, int& out) {
        if (auto v = r.integer(name)) {
            if (*v < low || *v > high) {
                throw config_error(
                    source, r.key(name),
                    "must be between " + std::to_string(low) + " and " + std::to_string(high));
            }
            out = static_cast<int>(*v);
        }
    };
    bounded("worker_threads", 4, 1024, s.worker_threads);
    bounded("max_queued_requests", 1, 100000, s.max_queued_requests);
    bounded("max_connections", 16, 1000000, s.max_connections);
    bounded("max_connections_per_address", 1, 1000000, s.max_connections_per_address);
    bounded("max_streams", 1, 1000000, s.max_streams);
    bounded("max_streams_per_person", 1, 1000000, s.max_streams_per_person);
    for (auto [name, out] : {std::pair{"header_timeout", &s.header_timeout},
                             std::pair{"body_timeout", &s.body_timeout}}) {
        if (auto v = r.duration(name)) {
            if (*v < std::chrono::seconds(1)) {
                throw config_error(source, r.key(name), "must be at least 1s");
            }
            *out = *v;
        }
    }
    r.refuse_unknown();
    return s;
}

std::map<std::string, std::string> read_session_settings(const toml::node* node,
                                                         const std::string& key,
                                                         const std::string& source) {
    std::map<std::string, std::string> settings;
    if (node == nullptr) {
        return settings;
    }
    const toml::table* table = node->as_table();
    if (table == nullptr) {
        throw config_error(source, key, "must be a table of name = \"value\"");
    }
    for (const auto& [k, v] : *table) {
        std::string name(k.str());
        // A custom setting has a dot (PostgreSQL's rule for placeholders); refusing the others
        // keeps role, search_path and the timeouts in datafix's hands.
        if (name.find('.') == std::string::npos) {
            throw config_error(source, key + "." + name,
                               "only custom settings with a dot (such as jwt.claims.sub) may be "
                               "set here");
        }
        if (!v.is_string()) {
            throw config_error(source, key + "." + name, "must be a string");
        }
        settings[name] = *v.value<std::string>();
    }
    return settings;
}

// append_only = ["app_public.record_version", ...]: schema-qualified, as pre-flight names tables.
std::vector<std::string> read_table_list(const toml::node* node, const std::string& key,
                                         const std::string& source) {
    std::vector<std::string> tables;
    if (node == nullptr) {
        return tables;
    }
    const toml::array* list = node->as_array();
    if (list == nullptr) {
        throw config_error(source, key, "must be a list such as [\"app_public.record_version\"]");
    }
    for (const auto& item : *list) {
        auto name = item.value<std::string>();
        if (!name || name->find('.') == std::string::npos || name->front() == '.' ||
            name->back() == '.') {
            throw config_error(source, key, "must list tables as \"schema.table\"");
        }
        tables.push_back(*name);
    }
    return tables;
}

// display_keys = { "app_public.application" = "application_number" }: the column people name a
// table's rows by. Only names: the values stay in the sealed images until a person of the
// request looks at them.
std::map<std::string, std::string> read_display_keys(const toml::node* node, const std::string& key,
                                                     const std::string& source) {
    std::map<std::string, std::string> keys;
    if (node == nullptr) {
        return keys;
    }
    const toml::table* table = node->as_table();
    if (table == nullptr) {
        throw config_error(source, key,
                           "must be a table such as { \"app_public.application\" = "
                           "\"application_number\" }");
    }
    for (const auto& [name, value] : *table) {
        std::string table_name(name.str());
        const std::string entry = key + ".\"" + table_name + "\"";
        if (table_name.find('.') == std::string::npos || table_name.front() == '.' ||
            table_name.back() == '.') {
            throw config_error(source, entry, "must name a table as \"schema.table\"");
        }
        auto column = value.value<std::string>();
        if (!value.is_string() || !column || column->empty()) {
            throw config_error(source, entry,
                               "must be a column name such as \"application_number\"");
        }
        keys[table_name] = *column;
    }
    return keys;
}

// vouch_security_definer = ["app_public.current_user_id", ...]: application functions named as
// pre-flight names them (schema.function, without arguments).
std::vector<std::string> read_function_list(const toml::node* node, const std::string& key,
                                            const std::string& source) {
    std::vector<std::string> functions;
    if (node == nullptr) {
        return functions;
    }
    const toml::array* list = node->as_array();
    if (list == nullptr) {
        throw config_error(source, key, "must be a list such as [\"app_public.current_user_id\"]");
    }
    for (const auto& item : *list) {
        auto name = item.value<std::string>();
        if (!name || name->find('.') == std::string::npos || name->front() == '.' ||
            name->back() == '.' || name->find('(') != std::string::npos) {
            throw config_error(source, key,
                               "must list functions as \"schema.function\", without arguments");
        }
        functions.push_back(*name);
    }
    return functions;
}

// [environment.person_settings] "dev@example.com" = { "jwt.claims.sub" = "..." }
std::map<std::string, std::map<std::string, std::string>> read_person_settings(
    const toml::node* node, const std::string& key, const std::string& source) {
    std::map<std::string, std::map<std::string, std::string>> people;
    if (node == nullptr) {
        return people;
    }
    const toml::table* table = node->as_table();
    if (table == nullptr) {
        throw config_error(source, key,
                           R"(must be a table of "email" = { "jwt.claims.sub" = "..." })");
    }
    for (const auto& [email, settings] : *table) {
        std::string name(email.str());
        if (name.find('@') == std::string::npos) {
            throw config_error(source, key + "." + name, "must be a person's e-mail address");
        }
        people[name] = read_session_settings(&settings, key + "." + name, source);
    }
    return people;
}

void read_approvals(const toml::node* node, const std::string& key, const std::string& source,
                    workflow::EnvironmentRules& rules) {
    if (node == nullptr) {
        return;
    }
    const toml::array* list = node->as_array();
    if (list == nullptr) {
        throw config_error(source, key, R"(must be a list such as ["pair", "product_owner"])");
    }
    bool pair = false;
    for (const auto& item : *list) {
        auto name = item.value<std::string>();
        if (!name) {
            throw config_error(source, key, "must be a list of strings");
        }
        if (*name == "pair") {
            pair = true;
        } else if (*name == "product_owner") {
            rules.needs_product_owner_approval = true;
        } else {
            throw config_error(source, key,
                               "unknown approval \"" + *name + "\" (pair, product_owner)");
        }
    }
    if (!pair) {
        throw config_error(source, key, "must include \"pair\": every apply needs the pair");
    }
}

EnvironmentConfig read_environment(const toml::table& table, std::size_t index,
                                   const std::string& source, const std::string& base_dir) {
    EnvironmentConfig env;
    {
        // Until it has a valid name, the environment is named by its place in the file.
        TableReader named(table, "environment[" + std::to_string(index) + "].", source);
        env.target.name = named.required_string("name");
        for (char c : env.target.name) {
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
                throw config_error(source, named.key("name"),
                                   "use letters, digits, '-' and '_' only (it appears in URLs)");
            }
        }
    }
    // Every later mistake names the environment as people know it: environment "prod".role.
    std::string prefix = "environment \"" + env.target.name + "\"";
    TableReader r(table, prefix + ".", source);
    r.raw("name");
    env.rules.name = env.target.name;
    env.target.conninfo = r.required_string("conninfo");
    env.target.role = r.required_string("role");
    env.target.pinned_system_identifier = r.required_string("system_identifier");
    for (char c : env.target.pinned_system_identifier) {
        if (!std::isdigit(static_cast<unsigned char>(c))) {
            throw config_error(source, r.key("system_identifier"),
                               "must be the digits of pg_control_system()'s system_identifier");
        }
    }
    if (auto v = r.duration("lock_timeout")) {
        env.target.lock_timeout = *v;
    }
    if (auto v = r.duration("statement_timeout")) {
        env.target.statement_timeout = *v;
    }
    if (auto v = r.duration("idle_in_transaction_session_timeout")) {
        env.target.idle_in_transaction_session_timeout = *v;
    }
    if (auto v = r.string("application_name")) {
        env.target.application_name = *v;
    }
    if (auto v = r.string("work_mem")) {
        // PostgreSQL's memory sizes: a number and B, kB, MB, GB or TB (case matters).
        auto unit = v->find_first_not_of("0123456789");
        bool sized =
            unit != 0 && !v->empty() &&
            (unit == std::string::npos ||
             std::set<std::string>{"B", "kB", "MB", "GB", "TB"}.count(v->substr(unit)) > 0);
        if (!sized) {
            throw config_error(source, r.key("work_mem"),
                               "must be a size as PostgreSQL writes it, such as \"64MB\"");
        }
        env.target.work_mem = *v;
    }
    env.target.session_settings =
        read_session_settings(r.raw("session_settings"), r.key("session_settings"), source);
    env.target.append_only_tables =
        read_table_list(r.raw("append_only"), r.key("append_only"), source);
    env.target.vouch_security_definer = read_function_list(r.raw("vouch_security_definer"),
                                                           r.key("vouch_security_definer"), source);
    if (auto v = r.boolean("revert_without_triggers")) {
        env.target.revert_without_triggers = *v;
    }
    if (auto v = r.boolean("allow_superuser_login")) {
        env.target.allow_superuser_login = *v;
    }
    env.person_settings =
        read_person_settings(r.raw("person_settings"), r.key("person_settings"), source);
    env.display_keys = read_display_keys(r.raw("display_keys"), r.key("display_keys"), source);
    env.pods = read_pod_section(r.raw("openshift"), r.raw("kubernetes"), env.target.conninfo,
                                source + ": " + prefix, env.target.name);
    if (auto v = r.boolean("production")) {
        env.rules.production = *v;
    }
    read_approvals(r.raw("approvals"), r.key("approvals"), source, env.rules);
    if (auto v = r.boolean("backup_required")) {
        env.rules.needs_backup = *v;
    }
    if (auto v = r.duration("backup_max_age")) {
        env.rules.backup_max_age = std::chrono::duration_cast<std::chrono::minutes>(*v);
    }
    if (auto v = r.boolean("live")) {
        env.rules.live = *v;
    }
    if (auto v = r.duration("live_window")) {
        if (v->count() <= 0) {
            throw config_error(source, r.key("live_window"),
                               "must be positive: a live transaction is always bounded");
        }
        env.live.window = *v;
        env.rules.live_window = *v;
    }
    if (auto v = r.integer("live_max_rows")) {
        if (*v <= 0) {
            throw config_error(source, r.key("live_max_rows"), "must be a positive row count");
        }
        env.live.max_rows = *v;
    }
    env.backup =
        config_detail::read_backup(r.raw("backup"), r.key("backup"), source, base_dir, env.target);
    r.refuse_unknown();
    if (env.rules.needs_backup && !env.backup) {
        throw config_error(source, r.key("backup"),
                           "backup_required = true needs [environment.backup] (how to take it)");
    }
    for (auto [name, value] : {std::pair{"lock_timeout", env.target.lock_timeout},
                               std::pair{"statement_timeout", env.target.statement_timeout},
                               std::pair{"idle_in_transaction_session_timeout",
                                         env.target.idle_in_transaction_session_timeout}}) {
        if (value.count() <= 0) {
            throw config_error(source, r.key(name), "must be positive: every session is bounded");
        }
    }
    return env;
}

}  // namespace

std::chrono::milliseconds parse_duration(std::string_view text, const std::string& key) {
    std::size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) {
        ++digits;
    }
    std::string_view unit = text.substr(digits);
    if (digits == 0 || digits > 12) {
        throw Error(ErrorCode::config, key + ": \"" + std::string(text) + "\" is not a duration",
                    "write a number with a unit: 1500ms, 30s, 5m, 2h");
    }
    std::int64_t n = std::stoll(std::string(text.substr(0, digits)));
    if (unit == "ms") {
        return std::chrono::milliseconds{n};
    }
    if (unit.empty() || unit == "s") {
        return std::chrono::seconds{n};
    }
    if (unit == "m" || unit == "min") {
        return std::chrono::minutes{n};
    }
    if (unit == "h") {
        return std::chrono::hours{n};
    }
    throw Error(ErrorCode::config, key + ": unknown unit \"" + std::string(unit) + "\"",
                "write a number with a unit: 1500ms, 30s, 5m, 2h");
}

workflow::WorkflowConfig Config::workflow() const {
    workflow::WorkflowConfig wf;
    for (const auto& env : environments) {
        wf.environments.push_back(env.rules);
    }
    wf.lease = server.claim_lease;
    wf.confirm_accounts = confirm_accounts;
    return wf;
}

const EnvironmentConfig& Config::require_environment(const std::string& name) const {
    const EnvironmentConfig* env = find_environment(name);
    if (env == nullptr) {
        std::vector<std::string> names;
        for (const auto& e : environments) {
            names.push_back(e.target.name);
        }
        throw_refusal(workflow::unknown_environment(name, names));
    }
    return *env;
}

const EnvironmentConfig* Config::find_environment(std::string_view name) const {
    for (const auto& env : environments) {
        if (env.target.name == name) {
            return &env;
        }
    }
    return nullptr;
}

Config Config::load(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Error(ErrorCode::config, "cannot read configuration file " + path,
                    "pass --config with the path of datafix.toml");
    }
    std::ostringstream text;
    text << in.rdbuf();
    std::string base = std::filesystem::absolute(path).parent_path().string();
    Config config = parse(text.str(), path, base);
    config.path = path;
    return config;
}

Config Config::parse(std::string_view text, const std::string& source,
                     const std::string& base_dir) {
    toml::table root;
    try {
        root = toml::parse(text, source);
    } catch (const toml::parse_error& e) {
        const auto& where = e.source().begin;
        throw Error(ErrorCode::config,
                    source + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) +
                        ": " + std::string(e.description()),
                    "the file must be valid TOML");
    }
    Config config;
    config.path = source;
    for (const auto& [k, v] : root) {
        if (k.str() != "server" && k.str() != "environment" && k.str() != "notify" &&
            k.str() != "auth" && k.str() != "display_keys") {
            throw config_error(source, std::string(k.str()), "unknown key");
        }
    }
    const toml::node* server_node = root.get("server");
    if (server_node != nullptr && !server_node->is_table()) {
        throw config_error(source, "server", "must be a table ([server])");
    }
    config.server = read_server(server_node ? server_node->as_table() : nullptr, source, base_dir);

    const toml::node* envs = root.get("environment");
    const toml::array* list = envs ? envs->as_array() : nullptr;
    if (list == nullptr || list->empty()) {
        throw config_error(source, "environment",
                           "at least one [[environment]] is required, in promotion order");
    }
    std::set<std::string> names;
    for (std::size_t i = 0; i < list->size(); ++i) {
        const toml::table* table = (*list)[i].as_table();
        if (table == nullptr) {
            throw config_error(source, "environment", "must be an array of tables");
        }
        EnvironmentConfig env = read_environment(*table, i, source, base_dir);
        if (!names.insert(env.target.name).second) {
            throw config_error(source, "environment[" + std::to_string(i) + "].name",
                               "\"" + env.target.name + "\" appears twice");
        }
        config.environments.push_back(std::move(env));
    }
    config.notify =
        config_detail::read_notify(root.get("notify"), source, base_dir, config.notify_delivery);
    config_detail::AuthSettings auth = config_detail::read_auth(root.get("auth"), source, base_dir);
    config.oidc = std::move(auth.oidc);
    config.confirm_accounts = auth.confirm_accounts;
    config.display_keys = read_display_keys(root.get("display_keys"), "display_keys", source);
    return config;
}

std::map<std::string, std::string> Config::display_keys_of(const std::string& environment) const {
    std::map<std::string, std::string> keys = display_keys;
    if (const EnvironmentConfig* env = find_environment(environment)) {
        for (const auto& [table, column] : env->display_keys) {
            keys[table] = column;
        }
    }
    return keys;
}

}  // namespace datafix::server
