// [auth.oidc] of datafix.toml, read key by key (see oidc_settings.hpp for what each key means).
// The client secret comes from a file (mode 0600) or an environment variable, never from the
// configuration file itself.
#include <algorithm>
#include <cstdlib>

#include "server/config_reader.hpp"

namespace datafix::server {

namespace {

bool loopback_host(const std::string& host) {
    return host == "127.0.0.1" || host == "localhost" || host == "[::1]";
}

// "scheme", "host" (with brackets for IPv6) and the rest of an absolute http(s) URL.
struct UrlParts {
    std::string scheme;
    std::string host;
    std::string authority;  // host[:port]
};

std::optional<UrlParts> split_url(const std::string& url) {
    auto colon = url.find("://");
    if (colon == std::string::npos) {
        return std::nullopt;
    }
    UrlParts parts;
    parts.scheme = url.substr(0, colon);
    std::string rest = url.substr(colon + 3);
    parts.authority = rest.substr(0, rest.find('/'));
    if (parts.authority.empty() || (parts.scheme != "http" && parts.scheme != "https")) {
        return std::nullopt;
    }
    if (parts.authority.front() == '[') {
        parts.host = parts.authority.substr(0, parts.authority.find(']') + 1);
    } else {
        parts.host = parts.authority.substr(0, parts.authority.find(':'));
    }
    return parts;
}

}  // namespace

bool OidcSettings::secure_cookie() const {
    auto parts = split_url(public_url);
    return !(parts && parts->scheme == "http" && loopback_host(parts->host));
}

std::string OidcSettings::public_origin() const {
    auto parts = split_url(public_url);
    return parts ? parts->scheme + "://" + parts->authority : public_url;
}

namespace config_detail {

namespace {

std::vector<std::string> strings(const toml::node* node, const std::string& key,
                                 const std::string& source) {
    std::vector<std::string> items;
    const toml::array* list = node ? node->as_array() : nullptr;
    if (list == nullptr) {
        throw config_error(source, key, "must be a list of strings");
    }
    for (const auto& item : *list) {
        if (!item.is_string()) {
            throw config_error(source, key, "must be a list of strings");
        }
        items.push_back(*item.value<std::string>());
    }
    return items;
}

// An http(s) URL; plain http only on a loopback host (a provider or server on this machine).
void require_url(const std::string& url, const std::string& key, const std::string& source) {
    auto parts = split_url(url);
    if (!parts) {
        throw config_error(source, key, "must be an http(s) URL, e.g. https://sso.example.com");
    }
    if (parts->scheme == "http" && !loopback_host(parts->host)) {
        throw config_error(source, key,
                           "must use https (plain http only on 127.0.0.1, localhost or [::1])");
    }
}

OidcSettings read_oidc(const toml::node* oidc_node, const std::string& source,
                       const std::string& base_dir);

}  // namespace

AuthSettings read_auth(const toml::node* node, const std::string& source,
                       const std::string& base_dir) {
    AuthSettings settings;
    if (node == nullptr) {
        return settings;
    }
    const toml::table* auth = node->as_table();
    if (auth == nullptr) {
        throw config_error(source, "auth", "must be a table ([auth])");
    }
    TableReader outer(*auth, "auth.", source);
    const toml::node* oidc_node = outer.raw("oidc");
    const std::optional<bool> confirm = outer.boolean("confirm_accounts");
    outer.refuse_unknown();
    if (oidc_node == nullptr) {
        if (confirm.value_or(false)) {
            // Every account would come from the first admin, and none could confirm another's.
            throw config_error(source, outer.key("confirm_accounts"),
                               "needs [auth.oidc]: without a sign-in provider every account "
                               "descends from the first admin, so no second admin could confirm "
                               "one");
        }
        return settings;
    }
    settings.confirm_accounts = confirm.value_or(false);
    settings.oidc = read_oidc(oidc_node, source, base_dir);
    return settings;
}

namespace {

OidcSettings read_oidc(const toml::node* oidc_node, const std::string& source,
                       const std::string& base_dir) {
    const toml::table* table = oidc_node->as_table();
    if (table == nullptr) {
        throw config_error(source, "auth.oidc", "must be a table ([auth.oidc])");
    }
    TableReader r(*table, "auth.oidc.", source);
    OidcSettings s;
    s.issuer = r.required_string("issuer");
    while (!s.issuer.empty() && s.issuer.back() == '/') {
        s.issuer.pop_back();
    }
    require_url(s.issuer, r.key("issuer"), source);
    s.client_id = r.required_string("client_id");
    auto secret_file = r.string("client_secret_file");
    auto secret_env = r.string("client_secret_env");
    if (secret_file && secret_env) {
        throw config_error(source, r.key("client_secret_file"),
                           "give client_secret_file or client_secret_env, not both");
    }
    if (secret_file) {
        s.client_secret = read_secret_file(resolve_path(base_dir, *secret_file),
                                           r.key("client_secret_file"), source);
    } else if (secret_env) {
        const char* value = std::getenv(secret_env->c_str());
        if (value == nullptr || *value == '\0') {
            throw config_error(source, r.key("client_secret_env"),
                               "the environment variable " + *secret_env + " is not set");
        }
        s.client_secret = value;
    } else {
        throw config_error(source, r.key("client_secret_file"),
                           "is required (or client_secret_env): the client's secret at the "
                           "provider");
    }
    if (s.client_secret.empty()) {
        throw config_error(source, r.key("client_secret_file"), "the client secret is empty");
    }
    if (const toml::node* scopes = r.raw("scopes")) {
        s.scopes = strings(scopes, r.key("scopes"), source);
        if (std::find(s.scopes.begin(), s.scopes.end(), "openid") == s.scopes.end()) {
            throw config_error(source, r.key("scopes"), "must contain \"openid\"");
        }
    }
    s.public_url = r.required_string("public_url");
    while (!s.public_url.empty() && s.public_url.back() == '/') {
        s.public_url.pop_back();
    }
    require_url(s.public_url, r.key("public_url"), source);
    if (auto claim = r.string("identity_claim")) {
        if (*claim == "sub") {
            s.identity_claim = OidcIdentityClaim::sub;
        } else if (*claim == "email") {
            s.identity_claim = OidcIdentityClaim::email;
        } else {
            throw config_error(source, r.key("identity_claim"),
                               R"(must be "sub" or "email" (a verified e-mail))");
        }
    }
    if (auto from = r.string("roles_from")) {
        if (*from == "claim") {
            s.roles_from = OidcRoleSource::claim;
        } else if (*from == "people") {
            s.roles_from = OidcRoleSource::people;
        } else {
            throw config_error(source, r.key("roles_from"),
                               "must be \"claim\" (a claim of the ID token mapped with "
                               "[auth.oidc.role_map]) or \"people\" (datafix's people, by e-mail)");
        }
    }
    if (auto claim = r.string("roles_claim")) {
        s.roles_claim = *claim;
    }
    if (const toml::node* map_node = r.raw("role_map")) {
        const toml::table* map = map_node->as_table();
        if (map == nullptr) {
            throw config_error(source, r.key("role_map"), "must be a table ([auth.oidc.role_map])");
        }
        for (const auto& [name, values] : *map) {
            const std::string key = r.key("role_map.") + std::string(name.str());
            auto role = model::parse_role(name.str());
            if (!role || *role == model::Role::none) {
                throw config_error(source, key, "unknown role (developer, product_owner, admin)");
            }
            s.role_map[*role] = strings(&values, key, source);
        }
    }
    if (s.roles_from == OidcRoleSource::claim && s.role_map.empty()) {
        throw config_error(source, r.key("role_map"),
                           "is required with roles_from = \"claim\": which claim values give "
                           "developer, product_owner and admin");
    }
    if (auto unknown = r.string("unknown_people")) {
        if (*unknown == "refuse") {
            s.unknown_people = OidcUnknownPeople::refuse;
        } else if (*unknown == "create") {
            s.unknown_people = OidcUnknownPeople::create;
        } else {
            throw config_error(source, r.key("unknown_people"), R"(must be "refuse" or "create")");
        }
    }
    if (auto lifetime = r.duration("session_lifetime")) {
        s.session_lifetime = *lifetime;
    }
    if (auto lifetime = r.duration("cli_session_lifetime")) {
        s.cli_session_lifetime = *lifetime;
    }
    if (auto skew = r.duration("clock_skew")) {
        s.clock_skew = *skew;
    }
    r.refuse_unknown();
    return s;
}

}  // namespace

}  // namespace config_detail

}  // namespace datafix::server
