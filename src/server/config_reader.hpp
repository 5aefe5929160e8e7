// Reading one TOML table of datafix.toml key by key: typed getters that name the key at fault,
// and a refusal of keys nobody asked about. Shared by config.cpp and the readers of the
// [environment.backup] and [notify] sections, so every section reports mistakes the same way.
#pragma once

#include <toml++/toml.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "server/config.hpp"

namespace datafix::server::config_detail {

inline Error config_error(const std::string& source, const std::string& key,
                          const std::string& what) {
    return Error(ErrorCode::config, source + ": " + key + ": " + what,
                 "fix the key in the configuration file (see examples/datafix.toml)");
}

inline std::string resolve_path(const std::string& base_dir, const std::string& path) {
    if (path.empty() || path.front() == '/' || base_dir.empty()) {
        return path;
    }
    return (std::filesystem::path(base_dir) / path).lexically_normal().string();
}

// Reads the keys of one table, refusing any key it was not asked about: a misspelt key is
// otherwise silently ignored and its default used.
class TableReader {
  public:
    TableReader(const toml::table& table, std::string prefix, const std::string& source)
        : table_(table), prefix_(std::move(prefix)), source_(source) {}

    std::string key(std::string_view name) const { return prefix_ + std::string(name); }

    std::optional<std::string> string(std::string_view name) {
        seen_.insert(std::string(name));
        const toml::node* node = table_.get(name);
        if (node == nullptr) {
            return std::nullopt;
        }
        if (auto value = node->value<std::string>(); value && node->is_string()) {
            return *value;
        }
        throw config_error(source_, key(name), "must be a string");
    }

    std::string required_string(std::string_view name) {
        auto value = string(name);
        if (!value || value->empty()) {
            throw config_error(source_, key(name), "is required");
        }
        return *value;
    }

    std::optional<std::int64_t> integer(std::string_view name) {
        seen_.insert(std::string(name));
        const toml::node* node = table_.get(name);
        if (node == nullptr) {
            return std::nullopt;
        }
        if (!node->is_integer()) {
            throw config_error(source_, key(name), "must be an integer");
        }
        return node->value<std::int64_t>();
    }

    std::optional<bool> boolean(std::string_view name) {
        seen_.insert(std::string(name));
        const toml::node* node = table_.get(name);
        if (node == nullptr) {
            return std::nullopt;
        }
        if (!node->is_boolean()) {
            throw config_error(source_, key(name), "must be true or false");
        }
        return node->value<bool>();
    }

    std::optional<std::chrono::milliseconds> duration(std::string_view name) {
        seen_.insert(std::string(name));
        const toml::node* node = table_.get(name);
        if (node == nullptr) {
            return std::nullopt;
        }
        if (node->is_integer()) {
            return std::chrono::seconds{*node->value<std::int64_t>()};
        }
        if (!node->is_string()) {
            throw config_error(source_, key(name), R"(must be a duration such as "30s" or "5m")");
        }
        return parse_duration(*node->value<std::string>(), source_ + ": " + key(name));
    }

    const toml::node* raw(std::string_view name) {
        seen_.insert(std::string(name));
        return table_.get(name);
    }

    void refuse_unknown() const {
        for (const auto& [k, v] : table_) {
            if (!seen_.contains(std::string(k.str()))) {
                throw config_error(source_, key(k.str()), "unknown key");
            }
        }
    }

  private:
    const toml::table& table_;
    std::string prefix_;
    const std::string& source_;
    std::set<std::string> seen_;
};

// A secret kept in its own file (mode 0600 by the operator), never in datafix.toml; trailing
// line breaks dropped. Error(config) naming `key` when unreadable or readable by others.
std::string read_secret_file(const std::string& path, const std::string& key,
                             const std::string& source);

// [auth]: [auth.oidc], sign-in through an OpenID Connect provider (nothing when absent), and
// confirm_accounts (default off; refused without a provider).
struct AuthSettings {
    std::optional<OidcSettings> oidc;
    bool confirm_accounts = false;
};
AuthSettings read_auth(const toml::node* node, const std::string& source,
                       const std::string& base_dir);

// [environment.backup] of one environment (nothing when absent); the backup login defaults to
// the environment's own conninfo.
std::optional<backup::BackupSettings> read_backup(const toml::node* node, const std::string& key,
                                                  const std::string& source,
                                                  const std::string& base_dir,
                                                  const targetdb::EnvironmentTarget& target);

// [notify]: channels and routes, validated; routes default to the runbook's.
notify::NotifyConfig read_notify(const toml::node* node, const std::string& source,
                                 const std::string& base_dir, NotifyDelivery& delivery);

}  // namespace datafix::server::config_detail
