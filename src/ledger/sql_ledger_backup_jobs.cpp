// Backup jobs in the SQL ledger: one row per backup the server takes in the background. Nothing
// private: numbers, names, times, and an error's code and message (names and paths only).
#include "ledger/sql_ledger.hpp"

namespace datafix::ledger {

namespace {

constexpr const char* kColumns =
    "request, number, environment, requested_by, state, instance, attempts, started_at, "
    "finished_at, backup, error_code, error";

BackupJob job_from(const SqlRow& row) {
    BackupJob job;
    job.request = row.integer(0);
    job.number = static_cast<int>(row.integer(1));
    job.environment = row.text(2);
    job.requested_by = row.integer(3);
    job.state = parse_backup_job_state(row.text(4)).value_or(BackupJobState::failed);
    job.instance = row.text(5);
    job.attempts = static_cast<int>(row.integer(6));
    job.started_at = from_millis(row.integer(7));
    if (auto finished = row.optional_integer(8)) {
        job.finished_at = from_millis(*finished);
    }
    job.backup = static_cast<int>(row.integer(9));
    job.error_code = row.text(10);
    job.error = row.text(11);
    return job;
}

std::optional<std::int64_t> optional_millis(const std::optional<Time>& t) {
    return t ? std::optional<std::int64_t>(to_millis(*t)) : std::nullopt;
}

}  // namespace

int SqlLedger::start_backup_job(const BackupJob& job) {
    auto session = pool_.acquire();
    SqlTransaction tx(*session, SqlTransaction::Mode::write);
    if (session->dialect() == Dialect::postgresql) {
        // Two servers starting a job at once: one waits for the other.
        session->exec("SELECT pg_advisory_xact_lock(4242420002)");
    }
    auto running = session->query(
        "SELECT number FROM backup_jobs WHERE request = ? AND environment = ? AND state = ?",
        {SqlValue::of(job.request), SqlValue::of(job.environment),
         SqlValue::of(std::string(backup_job_state_name(BackupJobState::running)))});
    if (!running.empty()) {
        tx.commit();
        return -static_cast<int>(running.front().integer(0));
    }
    auto last = session->query("SELECT COALESCE(MAX(number), 0) FROM backup_jobs WHERE request = ?",
                               {SqlValue::of(job.request)});
    const std::int64_t number = (last.empty() ? 0 : last.front().integer(0)) + 1;
    session->exec(
        std::string("INSERT INTO backup_jobs (") + kColumns +
            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {SqlValue::of(job.request), SqlValue::of(number), SqlValue::of(job.environment),
         SqlValue::of(job.requested_by),
         SqlValue::of(std::string(backup_job_state_name(BackupJobState::running))),
         SqlValue::of(job.instance), SqlValue::of(std::int64_t{job.attempts}),
         SqlValue::of(to_millis(job.started_at)), SqlValue::null(), SqlValue::of(std::int64_t{0}),
         SqlValue::of(std::string()), SqlValue::of(std::string())});
    tx.commit();
    return static_cast<int>(number);
}

void SqlLedger::update_backup_job(const BackupJob& job) {
    auto session = pool_.acquire();
    SqlTransaction tx(*session, SqlTransaction::Mode::write);
    session->exec(
        "UPDATE backup_jobs SET state = ?, instance = ?, attempts = ?, finished_at = ?, "
        "backup = ?, error_code = ?, error = ? WHERE request = ? AND number = ?",
        {SqlValue::of(std::string(backup_job_state_name(job.state))), SqlValue::of(job.instance),
         SqlValue::of(std::int64_t{job.attempts}), SqlValue::of(optional_millis(job.finished_at)),
         SqlValue::of(std::int64_t{job.backup}), SqlValue::of(job.error_code),
         SqlValue::of(job.error), SqlValue::of(job.request),
         SqlValue::of(std::int64_t{job.number})});
    tx.commit();
}

std::vector<BackupJob> SqlLedger::backup_jobs(RequestNumber request) {
    auto session = pool_.acquire();
    SqlTransaction tx(*session, SqlTransaction::Mode::read);
    auto rows = session->query(
        std::string("SELECT ") + kColumns + " FROM backup_jobs WHERE request = ? ORDER BY number",
        {SqlValue::of(request)});
    tx.commit();
    std::vector<BackupJob> jobs;
    jobs.reserve(rows.size());
    for (const auto& row : rows) {
        jobs.push_back(job_from(row));
    }
    return jobs;
}

std::vector<BackupJob> SqlLedger::running_backup_jobs(const std::string& instance) {
    auto session = pool_.acquire();
    SqlTransaction tx(*session, SqlTransaction::Mode::read);
    auto rows = session->query(
        std::string("SELECT ") + kColumns +
            " FROM backup_jobs WHERE state = ? AND instance = ? ORDER BY started_at, request, "
            "number",
        {SqlValue::of(std::string(backup_job_state_name(BackupJobState::running))),
         SqlValue::of(instance)});
    tx.commit();
    std::vector<BackupJob> jobs;
    jobs.reserve(rows.size());
    for (const auto& row : rows) {
        jobs.push_back(job_from(row));
    }
    return jobs;
}

}  // namespace datafix::ledger
