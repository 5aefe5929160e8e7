// Backup jobs in the ledger, on SQLite and on PostgreSQL: one
// running job per request and environment, numbers per request, the end written once, and the
// running jobs listed per server instance for the restart that takes them up again.
#include "ledger_fixture.hpp"

namespace datafix::ledger::testing {

namespace {

BackupJob job_of(RequestNumber request, const std::string& environment, UserId by,
                 const std::string& instance, Time started) {
    BackupJob job;
    job.request = request;
    job.environment = environment;
    job.requested_by = by;
    job.instance = instance;
    job.started_at = started;
    return job;
}

TEST_P(LedgerTest, BackupJobsRunOnePerEnvironmentAndAreListedByTheirServer) {
    RequestNumber n = new_request().request.number;
    RequestNumber other = new_request().request.number;

    int first = ledger->start_backup_job(job_of(n, "prod", dev.person.id, "host-a:/srv", at(1)));
    EXPECT_EQ(first, 1);
    // A second start of the same environment names the running job instead (as negative).
    EXPECT_EQ(ledger->start_backup_job(job_of(n, "prod", dev.person.id, "host-b:/srv", at(2))), -1);
    EXPECT_EQ(ledger->start_backup_job(job_of(n, "test", dev.person.id, "host-a:/srv", at(3))), 2);
    EXPECT_EQ(ledger->start_backup_job(job_of(other, "prod", dev.person.id, "host-b:/srv", at(4))),
              1)
        << "numbers are per request";

    auto a = ledger->running_backup_jobs("host-a:/srv");
    ASSERT_EQ(a.size(), 2u);
    EXPECT_EQ(a[0].number, 1);
    EXPECT_EQ(a[0].environment, "prod");
    EXPECT_EQ(a[0].state, BackupJobState::running);
    EXPECT_EQ(a[0].attempts, 1);
    EXPECT_EQ(a[0].started_at, at(1));
    EXPECT_FALSE(a[0].finished_at.has_value());
    EXPECT_EQ(a[1].environment, "test");
    ASSERT_EQ(ledger->running_backup_jobs("host-b:/srv").size(), 1u);

    BackupJob done = a[0];
    done.state = BackupJobState::succeeded;
    done.attempts = 2;
    done.finished_at = at(9);
    done.backup = 4;
    ledger->update_backup_job(done);
    BackupJob failed = a[1];
    failed.state = BackupJobState::failed;
    failed.finished_at = at(10);
    failed.error_code = "database";
    failed.error = "pg_dump for test failed with exit status 1";
    ledger->update_backup_job(failed);

    auto jobs = ledger->backup_jobs(n);
    ASSERT_EQ(jobs.size(), 2u);
    EXPECT_EQ(jobs[0], done);
    EXPECT_EQ(jobs[1], failed);
    EXPECT_TRUE(ledger->running_backup_jobs("host-a:/srv").empty());
    // Once ended, the environment may start a job again.
    EXPECT_EQ(ledger->start_backup_job(job_of(n, "prod", dev.person.id, "host-a:/srv", at(11))), 3);
}

}  // namespace

}  // namespace datafix::ledger::testing
