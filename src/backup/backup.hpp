// Backups before a change: per environment either pg_dump (the binary matching the server's
// major version, custom format, of the tables the change writes) or an external command such as
// an on-demand pgBackRest job. A backup counts only once verified (pg_restore --list reads it,
// and for pg_dump its table of contents lists every written table); the result is a value the
// server records in the ledger (workflow::RecordBackup). Every failure is an Error with a HINT,
// and no file is left that could be mistaken for a backup.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace datafix::backup {

using Time = std::chrono::sys_time<std::chrono::milliseconds>;

enum class Method {
    pg_dump,  // pg_dump -Fc of the written tables (or the whole database)
    command,  // a configured program with placeholders
};

struct PgDumpSettings {
    // libpq conninfo of the backup login; pg_dump runs with --role=`role` after connecting.
    std::string conninfo;
    std::string role;
    // Where archives go; must exist. Files are created 0600, never overwritten.
    std::string directory;
    // pg_dump and pg_restore are <bin_root>/<server major>/bin/{pg_dump,pg_restore} (Debian's
    // layout) unless given explicitly; an explicit binary must still report the server's major.
    std::string bin_root = "/usr/lib/postgresql";
    std::string pg_dump_path;
    std::string pg_restore_path;
    // Dump the whole database instead of the written tables only.
    bool whole_database = false;
    // pg_dump waits at most this long for its table locks, then fails instead of queueing.
    std::chrono::milliseconds lock_wait_timeout{30000};
};

struct CommandSettings {
    // argv, no shell. Placeholders in any argument: {request}, {environment}, {output} (a path in
    // `directory` the command may write a pg_dump archive to), {timestamp}, {tables}
    // (comma-separated schema.table).
    std::vector<std::string> argv;
    std::string directory;
    // The command writes a pg_dump custom archive to {output}: verify it like a pg_dump backup.
    // Otherwise the backup is verified by its exit status alone and `location` is the last line
    // the command printed (e.g. a pgBackRest backup label).
    bool writes_archive = false;
    std::string pg_restore_path = "/usr/lib/postgresql/15/bin/pg_restore";
    std::chrono::milliseconds timeout{std::chrono::hours{2}};
};

struct BackupSettings {
    std::string environment;
    Method method = Method::pg_dump;
    PgDumpSettings pg_dump;
    CommandSettings command;
    // Run the child as this OS user (only possible when datafix runs as root), so the directory's
    // permissions are checked for that user: root ignores them.
    std::string os_user;
    // Largest archive allowed (RLIMIT_FSIZE on the child); 0: no limit beyond the disk.
    std::uint64_t max_bytes = 0;
};

struct TableName {
    std::string schema;
    std::string name;
};

struct BackupRequest {
    std::int64_t request_number = 0;
    std::vector<TableName> tables;  // every table the change writes
};

struct Progress {
    std::uint64_t bytes_written = 0;
    std::chrono::milliseconds elapsed{0};
};

// Reports progress while a backup runs, and lets another thread cancel it: the child is killed
// and its partial file removed.
struct BackupControl {
    std::function<void(const Progress&)> on_progress;  // called about every interval
    std::chrono::milliseconds progress_interval{250};
    const std::atomic<bool>* cancel = nullptr;
    std::function<Time()> clock;  // default: the wall clock
};

struct BackupResult {
    std::string environment;
    Method method = Method::pg_dump;
    bool verified = false;
    Time taken_at{};
    std::int64_t size_bytes = 0;
    std::string sha256;    // of the archive (pg_dump) or of the command's recorded output
    std::string location;  // archive path, or the command's reference
    std::vector<TableName> archived_tables;  // the archive's TOC (TABLE DATA entries)
    int exit_status = 0;                     // of pg_dump or the command
    std::string output;                      // command only: stdout and stderr, last 64 KiB
    std::string server_version;              // pg_dump: e.g. "150018"
    std::chrono::milliseconds elapsed{0};
};

// Takes and verifies a backup of `request`'s tables on `settings.environment`. Throws Error:
// config (missing or mismatched pg_dump, unusable directory, bad placeholder), database (pg_dump
// or pg_restore failed, disk full, verification failed), unreachable (server not reachable),
// rule (cancelled). On any failure the partial file is removed.
BackupResult take_backup(const BackupSettings& settings, const BackupRequest& request,
                         const BackupControl& control = {});

// The archive's TABLE DATA entries, as `pg_restore --list` reads them; throws Error(database)
// when pg_restore cannot read the file.
std::vector<TableName> list_archive_tables(const std::string& pg_restore, const std::string& path);

// Removes what a backup killed mid-way left behind: the "<archive name>.partial" files of a
// pg_dump backup directory (never a finished archive, never a file datafix did not name).
// Returns the names removed. For the command method there is nothing of datafix's to remove.
std::vector<std::string> remove_partial_backups(const BackupSettings& settings);

// "request-42-prod-20250101T120000Z.dump".
std::string archive_file_name(std::int64_t request_number, const std::string& environment,
                              Time taken_at);

std::string_view method_name(Method method);
std::optional<Method> parse_method(std::string_view name);

}  // namespace datafix::backup
