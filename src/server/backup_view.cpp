// Backup jobs, their results and events as JSON, and how a start or a cancel is answered.
#include "server/backup_view.hpp"

#include <nlohmann/json.hpp>

#include "server/api_error.hpp"

namespace datafix::server {

namespace {

long long millis(std::chrono::milliseconds d) {
    return static_cast<long long>(d.count());
}

nlohmann::json tables_json(const std::vector<backup::TableName>& tables) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& t : tables) {
        list.push_back(t.schema + "." + t.name);
    }
    return list;
}

}  // namespace

nlohmann::json backup_taken_json(const run::BackupTaken& taken) {
    const backup::BackupResult& result = taken.result;
    return {
        {"number", taken.number},
        {"environment", taken.environment},
        {"method", std::string(backup::method_name(result.method))},
        {"verified", result.verified},
        {"taken_at", format_time(result.taken_at)},
        {"size_bytes", result.size_bytes},
        {"sha256", result.sha256},
        {"location", result.location},
        {"tables", tables_json(result.archived_tables)},
        {"exit_status", result.exit_status},
        {"server_version", result.server_version},
        {"elapsed_ms", millis(result.elapsed)},
    };
}

nlohmann::json backup_job_view_json(const run::BackupJobView& view, const People& people) {
    nlohmann::json j = backup_job_json(view.job, people);
    if (view.taken) {
        j["result"] = backup_taken_json(*view.taken);
    }
    return j;
}

nlohmann::json backup_jobs_json(const std::string& environment,
                                const std::vector<run::BackupJobView>& jobs, const People& people) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& view : jobs) {
        list.push_back(backup_job_view_json(view, people));
    }
    return {{"environment", environment}, {"jobs", list}};
}

nlohmann::json backup_event_json(const run::BackupEvent& event) {
    nlohmann::json out = {{"environment", event.environment}, {"job", event.job}};
    switch (event.kind) {
        case run::BackupEventKind::started:
            out["attempt"] = event.attempt;
            out["method"] = std::string(backup::method_name(event.method));
            out["tables"] = tables_json(event.tables);
            break;
        case run::BackupEventKind::progress:
            out["bytes_written"] = event.progress.bytes_written;
            out["elapsed_ms"] = millis(event.progress.elapsed);
            break;
        case run::BackupEventKind::finished:
            if (event.taken != nullptr) {
                const backup::BackupResult& result = event.taken->result;
                out["number"] = event.taken->number;
                out["verified"] = result.verified;
                out["size_bytes"] = result.size_bytes;
                out["sha256"] = result.sha256;
                out["elapsed_ms"] = millis(result.elapsed);
            }
            break;
        case run::BackupEventKind::failed:
            out["error"] = event.error;
            out["cancelled"] = event.cancelled;
            break;
    }
    return out;
}

void answer_backup(Response& res, const run::BackupReport& report, const People& people) {
    const std::string number = std::to_string(report.job.request);
    const std::string& environment = report.job.environment;
    switch (report.status) {
        case run::BackupStatus::started:
            send_json(res, backup_job_view_json({report.job, std::nullopt}, people), 202);
            return;
        case run::BackupStatus::already_running:
            throw ApiError(ErrorCode::rule, "backup-running",
                           "backup job " + std::to_string(report.job.number) + " of " +
                               environment + " is already running for request " + number,
                           "follow it with datafix backup " + number + " " + environment +
                               " --follow, or cancel it with --cancel");
        case run::BackupStatus::stopping:
            throw ApiError(ErrorCode::busy, "server-stopping", "the server is stopping",
                           "take the backup again once the server is back");
        case run::BackupStatus::cancelling:
            send_json(
                res,
                {{"environment", environment}, {"job", report.job.number}, {"cancelling", true}});
            return;
        case run::BackupStatus::not_running:
            throw ApiError(ErrorCode::not_found, "no-backup-running",
                           "no backup of " + environment + " is running for request " + number +
                               " on this server",
                           "nothing to cancel; datafix backup " + number + " " + environment +
                               " --follow shows its jobs");
    }
    throw Error(ErrorCode::internal,
                "unknown backup status " + std::string(run::backup_status_name(report.status)));
}

}  // namespace datafix::server
