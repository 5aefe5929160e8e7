// Backups taken by the server for a request's environment: the tables the current revision
// writes, pg_dump or the configured command (backup/), progress published live on the request's
// events, and the verified result recorded through the workflow (RecordBackup), so the prod
// apply's backup-required rule can see it. One backup per request and environment at a time;
// cancel() stops it cleanly (the child is killed, no file is left).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "backup/backup.hpp"
#include "server/context.hpp"

namespace datafix::server {

class Backups {
  public:
    explicit Backups(Context& context);

    // Takes, verifies and records a backup; the driver only. Returns what was recorded.
    nlohmann::json take(ledger::RequestNumber number, const std::string& environment,
                        const workflow::Actor& actor);
    // Asks a running backup to stop; Error(not_found) when none runs.
    nlohmann::json cancel(ledger::RequestNumber number, const std::string& environment,
                          const workflow::Actor& actor);

  private:
    using Key = std::pair<ledger::RequestNumber, std::string>;

    Context& context_;
    std::mutex mutex_;
    std::map<Key, std::shared_ptr<std::atomic<bool>>> running_;
};

// Every table of the revision's write closure on `environment` (read by a pre-flight there), for
// pg_dump -t: the tables its statements name, resolved through the role's search_path, and what
// their triggers, foreign-key actions and rules write.
std::vector<backup::TableName> closure_tables(const EnvironmentConfig& environment,
                                              const ledger::Revision& revision);

}  // namespace datafix::server
