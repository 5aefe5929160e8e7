// datafix.toml: the server section (listen address, ledger, key file, image directory, claim
// lease) and the environments in promotion order, each with its target database and the rules
// the workflow applies to it. Every mistake is an Error(config) naming the key at fault.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backup/backup.hpp"
#include "discover/pod_target.hpp"
#include "model/person.hpp"
#include "notify/channels.hpp"
#include "run/environment.hpp"
#include "server/oidc_settings.hpp"
#include "targetdb/environment_target.hpp"
#include "targetdb/live.hpp"
#include "workflow/config.hpp"

namespace datafix::server {

using run::EnvironmentConfig;

// How log lines are written: one human-readable line, or one JSON object per line for a log
// collector (OpenShift's, Loki, ...).
enum class LogFormat { text, json };

struct ServerSettings {
    std::string listen = "127.0.0.1";
    int port = 8470;
    std::string ledger_url;  // SQLite file path (default <config dir>/datafix.db) or postgresql://
    std::string key_file;    // default <config dir>/datafix.key
    // The audit chain's MAC key, outside the ledger: default datafix-audit.key next to key_file.
    std::string audit_key_file;
    // How long an issued token works (`token_lifetime_days`, default 90).
    std::chrono::milliseconds token_lifetime = model::kDefaultTokenLifetime;
    std::string data_dir;                    // sealed image files; default <config dir>/data
    std::string log_file;                    // empty: stderr
    LogFormat log_format = LogFormat::text;  // [server] log_format = "text" | "json"
    std::chrono::milliseconds claim_lease{std::chrono::minutes{30}};
    // How long a run stays this server's after its last heartbeat (renewed every third of it);
    // after that, any server on the ledger settles it.
    std::chrono::milliseconds run_lease{std::chrono::seconds{30}};
    // This server among those sharing a ledger, stable across its restarts: a restarted server
    // settles its own earlier runs at once instead of waiting for their leases. Default
    // "<host name>:<data_dir>"; replicas on one host and data dir need their own.
    std::string instance;
    // Request bodies above this are refused (400). A change file is limited to 1 MiB by the SQL
    // guard; the JSON around a change and its verify file stays below this.
    std::size_t max_body_bytes = 3 * 1024 * 1024;
    // The HTTP server's limits (see http_server.hpp). Route handlers run on `worker_threads`;
    // beyond `max_queued_requests` waiting for one, a request is refused (503) at once.
    int worker_threads = 32;
    int max_queued_requests = 512;
    // Connections in all and from one address; beyond them a connection is closed unanswered.
    int max_connections = 2000;
    int max_connections_per_address = 128;
    // Live event streams in all (503 beyond) and per person (429 beyond).
    int max_streams = 1000;
    int max_streams_per_person = 16;
    // A request's headers must arrive within header_timeout (counted from the connection's
    // start or its previous answer) and its body within body_timeout; a connection that sends
    // or takes nothing for body_timeout is closed too.
    std::chrono::milliseconds header_timeout{std::chrono::seconds{10}};
    std::chrono::milliseconds body_timeout{std::chrono::seconds{60}};
};

// How the server delivers queued notifications ([notify] poll_interval, retry_first, retry_max).
struct NotifyDelivery {
    std::chrono::milliseconds poll_interval{std::chrono::seconds{5}};
    std::chrono::milliseconds retry_first{std::chrono::seconds{30}};
    std::chrono::milliseconds retry_max{std::chrono::hours{1}};
};

struct Config {
    std::string path;  // the file it was read from
    ServerSettings server;
    std::vector<EnvironmentConfig> environments;  // promotion order
    notify::NotifyConfig notify;                  // [notify]; no channels: nothing is sent
    NotifyDelivery notify_delivery;
    std::optional<OidcSettings> oidc;  // [auth.oidc]; none: tokens only
    // [auth] confirm_accounts: an account an admin created counts as theirs for four eyes until
    // a second admin confirms it. Off by default; needs [auth.oidc].
    bool confirm_accounts = false;
    // [display_keys] "schema.table" = "column": how rows are named in the request's views.
    std::map<std::string, std::string> display_keys;

    workflow::WorkflowConfig workflow() const;
    // The display keys of `environment`: the global ones, overridden by the environment's own.
    std::map<std::string, std::string> display_keys_of(const std::string& environment) const;
    const EnvironmentConfig* find_environment(std::string_view name) const;
    // The environment, or the one refusal of an unknown name (workflow::unknown_environment).
    const EnvironmentConfig& require_environment(const std::string& name) const;

    // Reads and validates `path`; relative paths inside are relative to the file's directory.
    static Config load(const std::string& path);
    // Same for text already read (`source` names it in messages, `base_dir` resolves paths).
    static Config parse(std::string_view text, const std::string& source,
                        const std::string& base_dir);
};

// "90s", "30m", "2h", "1500ms" or a bare number of seconds.
std::chrono::milliseconds parse_duration(std::string_view text, const std::string& key);

}  // namespace datafix::server
