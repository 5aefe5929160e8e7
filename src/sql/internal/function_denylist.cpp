// Names known to be dangerous, and why. PostgreSQL's own functions are decided by the allowlist
// (sql/allowed_functions.inc); this list only words their refusal. It still decides for functions
// of other schemas, where extensions install theirs (public.dblink_exec, cron.schedule): a change
// runs as the environment's role inside one transaction that datafix commits only after approval,
// and these functions escape that role (set_config can set `role`), act outside the transaction so
// a rollback cannot undo them, reach the server's files or other hosts, or run SQL given as text
// that the guard never sees.
#include "sql/internal/function_denylist.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace datafix::sql::internal {

namespace {

enum class Match { exact, prefix };

struct DeniedName {
    std::string_view name;
    Match match;
    std::string_view why;
};

constexpr std::string_view kRole = "can change a session setting, the role included";
constexpr std::string_view kBackend = "signals, reloads or stops server processes";
constexpr std::string_view kFiles = "reads or writes files on the database server";
constexpr std::string_view kLargeObject =
    "works on large objects, which live outside the captured rows (and lo_import/lo_export reach "
    "the server's files)";
constexpr std::string_view kRemote = "reaches another database or host from inside the server";
constexpr std::string_view kWal =
    "acts on WAL, replication or backups, which a rollback cannot undo";
constexpr std::string_view kLock =
    "takes advisory locks, which can outlive the transaction and block other sessions";
constexpr std::string_view kNotify = "sends a notification to other sessions";
constexpr std::string_view kDynamic = "runs SQL given as text, which the guard cannot check";
constexpr std::string_view kSequence = "changes a sequence, which a rollback does not undo";
constexpr std::string_view kSleep = "sleeps while the change holds its row locks";
constexpr std::string_view kStats = "resets statistics, which a rollback does not undo";
constexpr std::string_view kIndex = "maintains indexes, which is the database operators' work";
constexpr std::string_view kCatalog = "changes the system catalogs directly";

constexpr std::array kDenied = {
    DeniedName{"set_config", Match::exact, kRole},
    DeniedName{"pg_terminate_backend", Match::exact, kBackend},
    DeniedName{"pg_cancel_backend", Match::exact, kBackend},
    DeniedName{"pg_reload_conf", Match::exact, kBackend},
    DeniedName{"pg_rotate_logfile", Match::exact, kBackend},
    DeniedName{"pg_promote", Match::exact, kBackend},
    DeniedName{"pg_log_backend_memory_contexts", Match::exact, kBackend},
    DeniedName{"pg_read_file", Match::exact, kFiles},
    DeniedName{"pg_read_binary_file", Match::exact, kFiles},
    DeniedName{"pg_stat_file", Match::exact, kFiles},
    DeniedName{"pg_ls_", Match::prefix, kFiles},
    DeniedName{"pg_file_", Match::prefix, kFiles},
    DeniedName{"pg_logdir_ls", Match::exact, kFiles},
    DeniedName{"pg_current_logfile", Match::exact, kFiles},
    DeniedName{"lo_", Match::prefix, kLargeObject},
    DeniedName{"loread", Match::exact, kLargeObject},
    DeniedName{"lowrite", Match::exact, kLargeObject},
    DeniedName{"dblink", Match::prefix, kRemote},
    DeniedName{"http", Match::exact, kRemote},
    DeniedName{"http_", Match::prefix, kRemote},
    DeniedName{"pg_switch_wal", Match::exact, kWal},
    DeniedName{"pg_create_restore_point", Match::exact, kWal},
    DeniedName{"pg_backup_start", Match::exact, kWal},
    DeniedName{"pg_backup_stop", Match::exact, kWal},
    DeniedName{"pg_start_backup", Match::exact, kWal},
    DeniedName{"pg_stop_backup", Match::exact, kWal},
    DeniedName{"pg_wal_replay_", Match::prefix, kWal},
    DeniedName{"pg_create_physical_replication_slot", Match::exact, kWal},
    DeniedName{"pg_create_logical_replication_slot", Match::exact, kWal},
    DeniedName{"pg_drop_replication_slot", Match::exact, kWal},
    DeniedName{"pg_copy_physical_replication_slot", Match::exact, kWal},
    DeniedName{"pg_copy_logical_replication_slot", Match::exact, kWal},
    DeniedName{"pg_replication_slot_advance", Match::exact, kWal},
    DeniedName{"pg_logical_", Match::prefix, kWal},
    DeniedName{"pg_replication_origin_", Match::prefix, kWal},
    DeniedName{"pg_advisory_", Match::prefix, kLock},
    DeniedName{"pg_try_advisory_", Match::prefix, kLock},
    DeniedName{"pg_notify", Match::exact, kNotify},
    DeniedName{"query_to_", Match::prefix, kDynamic},
    DeniedName{"cursor_to_", Match::prefix, kDynamic},
    DeniedName{"table_to_xml", Match::prefix, kDynamic},
    DeniedName{"schema_to_xml", Match::prefix, kDynamic},
    DeniedName{"database_to_xml", Match::prefix, kDynamic},
    DeniedName{"ts_stat", Match::exact, kDynamic},
    DeniedName{"ts_rewrite", Match::exact, kDynamic},
    DeniedName{"setval", Match::exact, kSequence},
    DeniedName{"brin_summarize_", Match::prefix, kIndex},
    DeniedName{"brin_desummarize_range", Match::exact, kIndex},
    DeniedName{"gin_clean_pending_list", Match::exact, kIndex},
    DeniedName{"binary_upgrade_", Match::prefix, kCatalog},
    DeniedName{"pg_sleep", Match::prefix, kSleep},
    DeniedName{"pg_stat_reset", Match::prefix, kStats},
    DeniedName{"pg_stat_statements_reset", Match::exact, kStats},
};

// Extensions whose every function acts outside the transaction: pg_cron schedules jobs, pg_net
// sends HTTP requests.
constexpr std::array<std::string_view, 2> kDeniedSchemas = {"cron", "net"};

std::string lowercase(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

}  // namespace

std::optional<std::string> denied_function(std::string_view schema, std::string_view name) {
    std::string lower_schema = lowercase(schema);
    std::string lower_name = lowercase(name);
    for (std::string_view denied : kDeniedSchemas) {
        if (lower_schema == denied) {
            return "belongs to the " + std::string(denied) +
                   " extension, whose functions act outside the transaction";
        }
    }
    for (const DeniedName& d : kDenied) {
        bool hit = d.match == Match::exact ? lower_name == d.name : lower_name.starts_with(d.name);
        if (hit) {
            return std::string(d.why);
        }
    }
    return std::nullopt;
}

}  // namespace datafix::sql::internal
