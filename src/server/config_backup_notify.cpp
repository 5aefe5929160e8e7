// The [environment.backup] and [notify] sections of datafix.toml, read key by key into the backup
// and notify layers' own settings (one-to-one, so the layers' READMEs document the keys too).
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "server/config_reader.hpp"

#include "discover/conninfo.hpp"

namespace datafix::server::config_detail {

namespace {

std::vector<std::string> string_list(const toml::node* node, const std::string& key,
                                     const std::string& source) {
    std::vector<std::string> items;
    if (node == nullptr) {
        return items;
    }
    const toml::array* list = node->as_array();
    if (list == nullptr) {
        throw config_error(source, key, "must be a list of strings");
    }
    for (const auto& item : *list) {
        auto text = item.value<std::string>();
        if (!item.is_string() || !text) {
            throw config_error(source, key, "must be a list of strings");
        }
        items.push_back(*text);
    }
    return items;
}

notify::ChannelConfig read_channel(const std::string& name, const toml::node& node,
                                   const std::string& source, const std::string& base_dir) {
    const std::string prefix = "notify.channels." + name;
    const toml::table* table = node.as_table();
    if (table == nullptr) {
        throw config_error(source, prefix, "must be a table ([" + prefix + "])");
    }
    TableReader r(*table, prefix + ".", source);
    notify::ChannelConfig channel;
    channel.name = name;
    const std::string kind = r.required_string("kind");
    if (kind == "email") {
        channel.kind = notify::ChannelKind::email;
    } else if (kind == "slack") {
        channel.kind = notify::ChannelKind::slack;
    } else if (kind == "rocketchat") {
        channel.kind = notify::ChannelKind::rocketchat;
    } else if (kind == "teams") {
        channel.kind = notify::ChannelKind::teams;
    } else {
        throw config_error(source, r.key("kind"),
                           "unknown kind \"" + kind + "\" (email, slack, rocketchat, teams)");
    }
    const std::string url = r.required_string("url");
    if (auto v = r.duration("timeout")) {
        if (v->count() <= 0) {
            throw config_error(source, r.key("timeout"), "must be positive");
        }
        channel.timeout = *v;
    }
    if (channel.kind != notify::ChannelKind::email) {
        channel.webhook.url = url;
        r.refuse_unknown();
        return channel;
    }
    channel.smtp.url = url;
    if (auto v = r.string("starttls")) {
        if (*v == "none") {
            channel.smtp.starttls = notify::StartTls::none;
        } else if (*v == "try") {
            channel.smtp.starttls = notify::StartTls::try_;
        } else if (*v == "required") {
            channel.smtp.starttls = notify::StartTls::required;
        } else {
            throw config_error(source, r.key("starttls"),
                               "unknown value \"" + *v + "\" (none, try, required)");
        }
    }
    channel.smtp.username = r.string("username").value_or("");
    if (auto v = r.string("password_file")) {
        channel.smtp.password =
            read_secret_file(resolve_path(base_dir, *v), r.key("password_file"), source);
    }
    channel.smtp.from = r.required_string("from");
    if (auto v = r.string("ca_file")) {
        channel.smtp.ca_file = resolve_path(base_dir, *v);
    }
    if (auto v = r.boolean("verify_peer")) {
        channel.smtp.verify_peer = *v;
    }
    r.refuse_unknown();
    return channel;
}

std::vector<notify::PersonRole> read_people(const toml::node* node, const std::string& key,
                                            const std::string& source) {
    std::vector<notify::PersonRole> people;
    for (const auto& name : string_list(node, key, source)) {
        if (name == "product_owner") {
            people.push_back(notify::PersonRole::product_owner);
        } else if (name == "driver") {
            people.push_back(notify::PersonRole::driver);
        } else if (name == "pair") {
            people.push_back(notify::PersonRole::pair);
        } else {
            throw config_error(source, key,
                               "unknown person \"" + name + "\" (product_owner, driver, pair)");
        }
    }
    return people;
}

// `event = ["team", {channel = "mail", people = ["product_owner"], addresses = [...]}]`: a bare
// name is a chat channel; a table names an email channel's recipients.
std::vector<notify::Route> read_route_list(const toml::node& node, const std::string& key,
                                           const std::string& source) {
    const toml::array* list = node.as_array();
    if (list == nullptr) {
        throw config_error(source, key, "must be a list of channel names or route tables");
    }
    std::vector<notify::Route> routes;
    for (const auto& item : *list) {
        notify::Route route;
        if (item.is_string()) {
            route.channel = *item.value<std::string>();
        } else if (const toml::table* table = item.as_table()) {
            TableReader r(*table, key + ".", source);
            route.channel = r.required_string("channel");
            route.addresses = string_list(r.raw("addresses"), r.key("addresses"), source);
            route.people = read_people(r.raw("people"), r.key("people"), source);
            r.refuse_unknown();
        } else {
            throw config_error(source, key, "must be a list of channel names or route tables");
        }
        routes.push_back(std::move(route));
    }
    return routes;
}

// The runbook's routing over the configured channels: the first chat channel is the team's, the
// first email channel reaches people. Routes to a kind that is not configured are dropped.
std::map<notify::EventKind, std::vector<notify::Route>> default_routes(
    const notify::NotifyConfig& config) {
    std::string team;
    std::string email;
    for (const auto& c : config.channels) {
        if (c.kind == notify::ChannelKind::email && email.empty()) {
            email = c.name;
        } else if (c.kind != notify::ChannelKind::email && team.empty()) {
            team = c.name;
        }
    }
    auto routes = notify::NotifyConfig::runbook_routes(team, email);
    for (auto& [event, list] : routes) {
        std::erase_if(list, [](const notify::Route& r) { return r.channel.empty(); });
    }
    std::erase_if(routes, [](const auto& entry) { return entry.second.empty(); });
    return routes;
}

}  // namespace

// A secret kept in its own file (mode 0600 by the operator), never in datafix.toml.
std::string read_secret_file(const std::string& path, const std::string& key,
                             const std::string& source) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw config_error(source, key, "cannot read " + path);
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
        throw config_error(source, key,
                           path + " is readable by other users; chmod 600 " + path +
                               " (a secret file is its owner's alone)");
    }
    std::ostringstream text;
    text << in.rdbuf();
    std::string secret = text.str();
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) {
        secret.pop_back();
    }
    return secret;
}

std::optional<backup::BackupSettings> read_backup(const toml::node* node, const std::string& key,
                                                  const std::string& source,
                                                  const std::string& base_dir,
                                                  const targetdb::EnvironmentTarget& target) {
    if (node == nullptr) {
        return std::nullopt;
    }
    const toml::table* table = node->as_table();
    if (table == nullptr) {
        throw config_error(source, key, "must be a table ([environment.backup])");
    }
    TableReader r(*table, key + ".", source);
    backup::BackupSettings s;
    s.environment = target.name;
    const std::string method = r.string("method").value_or("pg_dump");
    auto parsed = backup::parse_method(method);
    if (!parsed) {
        throw config_error(source, r.key("method"),
                           "unknown method \"" + method + "\" (pg_dump, command)");
    }
    s.method = *parsed;
    const std::string directory = resolve_path(base_dir, r.required_string("directory"));
    s.pg_dump.directory = directory;
    s.command.directory = directory;
    s.pg_dump.conninfo = r.string("conninfo").value_or(target.conninfo);
    if (s.method == backup::Method::pg_dump) {
        discover::check_conninfo_without_password(
            s.pg_dump.conninfo,
            r.string("conninfo") ? r.key("conninfo") : key + " (the environment's conninfo)");
    }
    s.pg_dump.role = r.string("role").value_or("");
    if (auto v = r.string("bin_root")) {
        s.pg_dump.bin_root = *v;
    }
    s.pg_dump.pg_dump_path = r.string("pg_dump_path").value_or("");
    if (auto v = r.string("pg_restore_path")) {
        s.pg_dump.pg_restore_path = *v;
        s.command.pg_restore_path = *v;
    }
    if (auto v = r.boolean("whole_database")) {
        s.pg_dump.whole_database = *v;
    }
    if (auto v = r.duration("lock_wait_timeout")) {
        if (v->count() <= 0) {
            throw config_error(source, r.key("lock_wait_timeout"), "must be positive");
        }
        s.pg_dump.lock_wait_timeout = *v;
    }
    s.os_user = r.string("os_user").value_or("");
    if (auto v = r.integer("max_bytes")) {
        if (*v < 0) {
            throw config_error(source, r.key("max_bytes"), "must be 0 (no limit) or more");
        }
        s.max_bytes = static_cast<std::uint64_t>(*v);
    }
    s.command.argv = string_list(r.raw("command"), r.key("command"), source);
    if (auto v = r.boolean("writes_archive")) {
        s.command.writes_archive = *v;
    }
    if (auto v = r.duration("timeout")) {
        if (v->count() <= 0) {
            throw config_error(source, r.key("timeout"), "must be positive");
        }
        s.command.timeout = *v;
    }
    r.refuse_unknown();
    if (s.method == backup::Method::command && s.command.argv.empty()) {
        throw config_error(source, r.key("command"),
                           "is required with method = \"command\" (argv, no shell)");
    }
    if (s.method == backup::Method::pg_dump && !s.command.argv.empty()) {
        throw config_error(source, r.key("command"), "applies to method = \"command\" only");
    }
    return s;
}

notify::NotifyConfig read_notify(const toml::node* node, const std::string& source,
                                 const std::string& base_dir, NotifyDelivery& delivery) {
    notify::NotifyConfig config;
    if (node == nullptr) {
        return config;
    }
    const toml::table* table = node->as_table();
    if (table == nullptr) {
        throw config_error(source, "notify", "must be a table ([notify])");
    }
    TableReader r(*table, "notify.", source);
    config.base_url = r.string("base_url").value_or("");
    while (!config.base_url.empty() && config.base_url.back() == '/') {
        config.base_url.pop_back();
    }
    for (auto [name, field] : {std::pair{"poll_interval", &delivery.poll_interval},
                               std::pair{"retry_first", &delivery.retry_first},
                               std::pair{"retry_max", &delivery.retry_max}}) {
        if (auto v = r.duration(name)) {
            if (v->count() <= 0) {
                throw config_error(source, r.key(name), "must be positive");
            }
            *field = *v;
        }
    }
    if (const toml::node* channels = r.raw("channels")) {
        const toml::table* list = channels->as_table();
        if (list == nullptr) {
            throw config_error(source, "notify.channels", "must be tables [notify.channels.NAME]");
        }
        for (const auto& [name, channel] : *list) {
            config.channels.push_back(
                read_channel(std::string(name.str()), channel, source, base_dir));
        }
    }
    if (const toml::node* routes = r.raw("routes")) {
        const toml::table* list = routes->as_table();
        if (list == nullptr) {
            throw config_error(source, "notify.routes", "must be a table of event = [channels]");
        }
        for (const auto& [name, entry] : *list) {
            const std::string key = "notify.routes." + std::string(name.str());
            auto event = notify::parse_event(name.str());
            if (!event) {
                throw config_error(source, key,
                                   "unknown event (request-created, claimed, pair-wanted, "
                                   "evidence-to-approve, revert-to-approve, test-applied, "
                                   "prod-applied, failed, in-doubt, test-reverted, cancelled)");
            }
            config.routes[*event] = read_route_list(entry, key, source);
        }
    } else {
        config.routes = default_routes(config);
    }
    r.refuse_unknown();
    if (!config.channels.empty() && config.base_url.empty()) {
        throw config_error(source, "notify.base_url",
                           "is required with channels: messages link to the request's page");
    }
    try {
        config.validate();
    } catch (const Error& e) {
        throw Error(ErrorCode::config, source + ": " + e.message(), e.hint());
    }
    return config;
}

}  // namespace datafix::server::config_detail
