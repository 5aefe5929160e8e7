// Backup jobs as the API shows them (JSON), and the one place that decides how starting or
// cancelling one is answered: a job started is HTTP 202 with the job, one already running a
// conflict (rule backup-running), a server that is stopping busy (503), nothing to cancel 404.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "run/backup_report.hpp"
#include "server/http.hpp"
#include "server/state_json.hpp"

namespace datafix::server {

// What a job took: {number, environment, method, verified, taken_at, size_bytes, sha256,
// location, tables, exit_status, server_version, elapsed_ms}.
nlohmann::json backup_taken_json(const run::BackupTaken& taken);
// The job (backup_job_json) with its "result" when this server took it.
nlohmann::json backup_job_view_json(const run::BackupJobView& view, const People& people);
// {environment, jobs: [...]}, as GET .../backup answers.
nlohmann::json backup_jobs_json(const std::string& environment,
                                const std::vector<run::BackupJobView>& jobs, const People& people);
// The event's payload for the request's watchers.
nlohmann::json backup_event_json(const run::BackupEvent& event);
// Answers the report of a start or a cancel, or throws ApiError with the rule and a HINT naming
// the next command.
void answer_backup(Response& res, const run::BackupReport& report, const People& people);

}  // namespace datafix::server
