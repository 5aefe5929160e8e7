// Backups taken by the server for a request's environment, as jobs that outlive the HTTP call
// that starts them: the tables the current revision writes, pg_dump or the configured command
// (backup/), progress published live on the request's events, and the verified result recorded
// through the workflow (RecordBackup), so the prod apply's backup-required rule can see it. Each
// job is a row in the ledger (ledger::BackupJob). One job per request and environment at a time;
// cancel() stops it (the child is killed, no file is left). A job left running by an earlier life
// of this server (killed, or stopped while it ran) is taken up again at start by resume(), after
// the partial files of the stopped attempt are removed.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "backup/backup.hpp"
#include "server/context.hpp"

namespace datafix::server {

class Backups {
  public:
    // `instance`: this server's name in the ledger ([server] instance).
    Backups(Context& context, std::string instance);
    // Stops the running jobs' children and waits for them; their ledger rows stay running, so the
    // next start of this instance takes them up again.
    ~Backups();
    Backups(const Backups&) = delete;
    Backups& operator=(const Backups&) = delete;

    // Starts a job (the driver only), after the checks that need no database; answers the job.
    nlohmann::json start(model::RequestNumber number, const std::string& environment,
                         const workflow::Actor& actor);
    // Asks a running job to stop; Error(not_found) when none runs.
    nlohmann::json cancel(model::RequestNumber number, const std::string& environment,
                          const workflow::Actor& actor);
    // The jobs of one environment, oldest first (the request's people only).
    nlohmann::json jobs(model::RequestNumber number, const std::string& environment,
                        const workflow::Actor& actor);
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
    nlohmann::json take(const ledger::BackupJob& job, const workflow::Actor& actor,
                        const std::shared_ptr<std::atomic<bool>>& cancel);
    void finish(ledger::BackupJob job, ledger::BackupJobState state, int backup,
                const std::string& error_code, const std::string& error);
    nlohmann::json view(const ledger::BackupJob& job);

    Context& context_;
    std::string instance_;
    std::mutex mutex_;
    bool stopping_ = false;                                                   // under mutex_
    std::map<Key, Running> running_;                                          // under mutex_
    std::map<std::pair<model::RequestNumber, int>, nlohmann::json> results_;  // under mutex_
    std::vector<std::thread> threads_;                                        // under mutex_
};

// Every table of the revision's write closure on `environment` (read by a pre-flight there), for
// pg_dump -t: the tables its statements name, resolved through the role's search_path, and what
// their triggers, foreign-key actions and rules write.
std::vector<backup::TableName> closure_tables(const EnvironmentConfig& environment,
                                              const model::Revision& revision);

}  // namespace datafix::server
