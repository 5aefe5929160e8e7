// Backups taken by the server for a request's environment, as jobs that outlive the HTTP call
// that starts them: the tables the current revision writes, pg_dump or the configured command
// (backup/), progress announced on the request's events, and the verified result recorded
// through the workflow (RecordBackup), so the prod apply's backup-required rule can see it. Each
// job is a row in the ledger (ledger::BackupJob). One job per request and environment at a time;
// cancel() stops it (the child is killed, no file is left). A job left running by an earlier life
// of this server (killed, or stopped while it ran) is taken up again at start by resume(), after
// the partial files of the stopped attempt are removed.
//
// Start and cancel answer a typed BackupReport; refusals before a job starts (not the driver, no
// revision, no backup configured, an unknown environment) are Errors with their rule. The server
// chooses the HTTP status and the JSON (server/backup_view.*).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "backup/backup.hpp"
#include "run/backup_report.hpp"
#include "run/host.hpp"

namespace datafix::run {

class Backups {
  public:
    // `instance`: this server's name in the ledger ([server] instance).
    Backups(Host& host, std::string instance);
    // Stops the running jobs' children and waits for them; their ledger rows stay running, so the
    // next start of this instance takes them up again.
    ~Backups();
    Backups(const Backups&) = delete;
    Backups& operator=(const Backups&) = delete;

    // Starts a job (the driver only), after the checks that need no database: started (the job),
    // already_running (the running job's number) or stopping.
    BackupReport start(model::RequestNumber number, const std::string& environment,
                       const workflow::Actor& actor);
    // Asks the running job to stop (the driver only): cancelling, or not_running when none runs
    // on this server.
    BackupReport cancel(model::RequestNumber number, const std::string& environment,
                        const workflow::Actor& actor);
    // The jobs of one environment, oldest first, each with what it took when this server took it.
    std::vector<BackupJobView> jobs(model::RequestNumber number, const std::string& environment);
    // Takes up the jobs an earlier life of this instance left running; returns how many.
    int resume();

  private:
    using Key = std::pair<model::RequestNumber, std::string>;
    struct Running {
        int job = 0;
        std::shared_ptr<std::atomic<bool>> cancel;
        bool cancelled_by_person = false;
    };

    void launch(ledger::BackupJob job, workflow::Actor actor);
    void run(ledger::BackupJob job, const workflow::Actor& actor,
             const std::shared_ptr<std::atomic<bool>>& cancel);
    BackupTaken take(const ledger::BackupJob& job, const workflow::Actor& actor,
                     const std::shared_ptr<std::atomic<bool>>& cancel);
    void finish(ledger::BackupJob job, ledger::BackupJobState state, int backup,
                const std::string& error_code, const std::string& error);

    Host& host_;
    std::string instance_;
    std::mutex mutex_;
    bool stopping_ = false;                                              // under mutex_
    std::map<Key, Running> running_;                                     // under mutex_
    std::map<std::pair<model::RequestNumber, int>, BackupTaken> taken_;  // under mutex_
    std::vector<std::thread> threads_;                                   // under mutex_
};

// Every table of the revision's write closure on `environment` (read by a pre-flight there), for
// pg_dump -t: the tables its statements name, resolved through the role's search_path, and what
// their triggers, foreign-key actions and rules write. Error(rule, nothing-to-back-up) when none
// of them exists there.
std::vector<backup::TableName> closure_tables(const EnvironmentConfig& environment,
                                              const model::Revision& revision);

}  // namespace datafix::run
