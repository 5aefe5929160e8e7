// What a backup job answers and announces, typed: the server shapes it into JSON (backup_view)
// and chooses the HTTP status (a job started is 202, one already running a conflict, nothing to
// cancel 404), never the run layer.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backup/backup.hpp"
#include "ledger/ledger.hpp"

namespace datafix::run {

// What Backups::start and Backups::cancel did.
enum class BackupStatus {
    started,          // start: a new job runs
    already_running,  // start: a job of that environment runs already (here or on another server)
    stopping,         // start: the server is stopping and starts no job
    cancelling,       // cancel: the running job was told to stop; it ends cancelled
    not_running,      // cancel: no job of that environment runs on this server
};

std::string_view backup_status_name(BackupStatus status);

struct BackupReport {
    BackupStatus status = BackupStatus::started;
    // The request and environment always; started: the new job as the ledger holds it;
    // already_running, cancelling: the running job's number.
    ledger::BackupJob job;
};

// A verified backup a job took and recorded (workflow::RecordBackup): the recorded backup's
// number and backup/'s result, without a command's own output (it stays on the server).
struct BackupTaken {
    int number = 0;
    std::string environment;
    backup::BackupResult result;
};

// A job as the ledger holds it, with what it took when this server took it.
struct BackupJobView {
    ledger::BackupJob job;
    std::optional<BackupTaken> taken;
};

// Something a job did, for the request's watchers.
enum class BackupEventKind {
    started,   // the dump or command starts (again, after a restart: attempt > 1)
    progress,  // about every half second while it runs
    finished,  // verified and recorded
    failed,    // failed or cancelled; nothing recorded
};

// backup.started, backup.progress, backup.finished, backup.failed
std::string_view backup_event_name(BackupEventKind kind);

struct BackupEvent {
    BackupEventKind kind = BackupEventKind::started;
    std::string environment;
    int job = 0;
    int attempt = 0;                                  // started
    backup::Method method = backup::Method::pg_dump;  // started
    std::vector<backup::TableName> tables;            // started: what is backed up
    backup::Progress progress;                        // progress
    const BackupTaken* taken = nullptr;               // finished
    std::string error;                                // failed: the error code's name
    bool cancelled = false;                           // failed: a cancel had been asked
};

}  // namespace datafix::run
