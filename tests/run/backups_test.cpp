// run::Backups against a real PostgreSQL 15 cluster, Debian's pg_dump, real backup commands, a
// real SQLite ledger and the real workflow engine, hosted by a run::Host that keeps the ledger
// and the engine itself (as the server's Context does) and keeps the announced events for the
// test to read. What is checked: the typed reports (started, already_running, cancelling,
// not_running), refusals as Errors with their rule and no job, the events a job announces, a
// command's own words kept on the server only, and jobs taken up again by resume().
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <spdlog/logger.h>
#include <spdlog/sinks/null_sink.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "core/crypto.hpp"
#include "core/error.hpp"
#include "core/hash.hpp"
#include "harness/pg_cluster.hpp"
#include "ledger/ledger.hpp"
#include "run/backups.hpp"
#include "run/host.hpp"
#include "sql/analysis.hpp"
#include "workflow/engine.hpp"

namespace datafix::run {
namespace {

using testing::PgCluster;

const char* kChange = "UPDATE app_public.app_user SET family_name = 'Renamed' WHERE id = 3;\n";

// An announced backup event, copied (the event points at the job's result only while announced).
struct SeenEvent {
    BackupEventKind kind;
    std::string environment;
    int job = 0;
    int attempt = 0;
    std::vector<std::string> tables;
    int taken = 0;
    std::string error;
    bool cancelled = false;
};

// The run layer's host with a real ledger and workflow engine: steps are serialized as the
// server's Context serializes them; events are kept instead of published.
class LedgerHost : public Host {
  public:
    LedgerHost(const std::filesystem::path& dir, std::vector<EnvironmentConfig> environments)
        : key_(Key::generate()),
          data_dir_((dir / "data").string()),
          environments_(std::move(environments)),
          ledger_(ledger::Ledger::open((dir / "ledger.db").string(), key_)),
          engine_(*ledger_, workflow_config()),
          log_("backups-test", std::make_shared<spdlog::sinks::null_sink_mt>()) {}

    const Key& key() const override { return key_; }
    const std::string& data_dir() const override { return data_dir_; }
    workflow::WorkflowConfig workflow_config() const override {
        workflow::WorkflowConfig config;
        for (const auto& env : environments_) {
            config.environments.push_back(env.rules);
        }
        return config;
    }
    const EnvironmentConfig* find_environment(std::string_view name) const override {
        for (const auto& env : environments_) {
            if (env.target.name == name) {
                return &env;
            }
        }
        return nullptr;
    }
    model::RequestState load_request(model::RequestNumber number) override {
        auto state = ledger_->load(number);
        if (!state) {
            throw Error(ErrorCode::not_found, "no request " + std::to_string(number), "",
                        "request-not-found");
        }
        return *std::move(state);
    }
    workflow::Decision perform(model::RequestNumber number, const workflow::Action& action,
                               const workflow::Actor& actor) override {
        std::lock_guard lock(step_mutex_);
        return engine_.perform(number, action, actor, model::wall_clock_now());
    }
    ledger::Ledger& ledger() override { return *ledger_; }
    void announce(model::RequestNumber /*number*/, const RunEvent& /*event*/) override {
        ADD_FAILURE() << "a backup job announced a run's event";
    }
    void announce(model::RequestNumber /*number*/, const BackupEvent& event) override {
        SeenEvent seen{event.kind, event.environment, event.job,      event.attempt, {},
                       0,          event.error,       event.cancelled};
        for (const auto& t : event.tables) {
            seen.tables.push_back(t.schema + "." + t.name);
        }
        seen.taken = event.taken != nullptr ? event.taken->number : 0;
        std::lock_guard lock(events_mutex_);
        events_.push_back(std::move(seen));
    }
    spdlog::logger& log() override { return log_; }

    // The events of job `job`, progress left out (how many there are depends on the dump's pace).
    std::vector<SeenEvent> events_of(int job) {
        std::lock_guard lock(events_mutex_);
        std::vector<SeenEvent> found;
        for (const auto& e : events_) {
            if (e.job == job && e.kind != BackupEventKind::progress) {
                found.push_back(e);
            }
        }
        return found;
    }

    model::RequestNumber file_request(const model::Person& po) {
        workflow::NewRequest request{"rename a user", "asked by email", 0, "", ""};
        std::lock_guard lock(step_mutex_);
        workflow::Decision d = engine_.create_request(request, po, model::wall_clock_now());
        EXPECT_TRUE(d.allowed());
        return d.state.request.number;
    }

  private:
    Key key_;
    std::string data_dir_;
    std::vector<EnvironmentConfig> environments_;
    std::unique_ptr<ledger::Ledger> ledger_;
    workflow::Engine engine_;
    spdlog::logger log_;
    std::mutex step_mutex_;
    std::mutex events_mutex_;
    std::vector<SeenEvent> events_;
};

class RunBackups : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        cluster_ = testing::create_backup_cluster("run-backups", 20).release();
    }
    static void TearDownTestSuite() {
        delete cluster_;
        cluster_ = nullptr;
    }

    void SetUp() override {
        std::random_device rd;
        dir = std::filesystem::temp_directory_path() /
              ("datafix-run-backups-" + std::to_string(rd()));
        std::filesystem::create_directories(dir / "backups");
        std::filesystem::create_directories(dir / "commands");
        database = "run_backups_" + std::to_string(++databases_);
        const std::string target = cluster_->create_database(database, "app", "datafix_login");
        auto environment = [&](const std::string& name) {
            EnvironmentConfig env;
            env.target.name = name;
            env.target.conninfo = target;
            env.target.role = "app_owner";
            env.target.pinned_system_identifier = cluster_->system_identifier();
            env.rules.name = name;
            return env;
        };
        // dev: no backup; test: a command that waits for the file "go"; prod: pg_dump.
        EnvironmentConfig dev = environment("dev");
        EnvironmentConfig test = environment("test");
        backup::BackupSettings gated;
        gated.environment = "test";
        gated.method = backup::Method::command;
        gated.command.directory = (dir / "commands").string();
        gated.command.argv = {"/bin/sh", "-c",
                              "while [ ! -e " + (dir / "go").string() +
                                  " ]; do sleep 0.05; done; echo reached backup-host.internal "
                                  ">&2; echo label-{request}-{environment}"};
        test.backup = gated;
        EnvironmentConfig prod = environment("prod");
        prod.rules.production = true;
        backup::BackupSettings dump;
        dump.environment = "prod";
        dump.method = backup::Method::pg_dump;
        dump.pg_dump.conninfo = cluster_->conninfo(database, "datafix_backup");
        dump.pg_dump.role = "datafix_backup";
        dump.pg_dump.directory = (dir / "backups").string();
        prod.backup = dump;
        host = std::make_unique<LedgerHost>(dir, std::vector<EnvironmentConfig>{dev, test, prod});
        model::AuditEvent event;
        event.at = model::wall_clock_now();
        driver = host->ledger()
                     .create_user({"Dana Dev", "dana@example.com", model::Role::developer}, event)
                     .person;
        other = host->ledger()
                    .create_user({"Omar Dev", "omar@example.com", model::Role::developer}, event)
                    .person;
        po = host->ledger()
                 .create_user({"Pat Owner", "pat@example.com", model::Role::product_owner}, event)
                 .person;
    }
    void TearDown() override {
        release_commands();
        backups.reset();
        host.reset();
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
    }

    void release_commands() { std::ofstream go(dir / "go"); }

    Backups& jobs(const std::string& instance = "instance-a") {
        if (!backups) {
            backups = std::make_unique<Backups>(*host, instance);
        }
        return *backups;
    }

    // A request driven by `driver` with the change attached (unless `revision` is false).
    model::RequestNumber driven_request(bool revision = true) {
        const model::RequestNumber n = host->file_request(po);
        EXPECT_TRUE(host->perform(n, workflow::ClaimRequest{}, driver).allowed());
        if (revision) {
            workflow::AttachRevision attach;
            attach.change_sql = kChange;
            for (const auto& s :
                 sql::analyze(kChange, sql::FileRole::change, "change.sql").statements) {
                attach.statements.push_back({s.normalized, s.fingerprint, sha256_hex(s.text), 1});
            }
            workflow::Decision d = host->perform(n, attach, driver);
            EXPECT_TRUE(d.allowed()) << (d.refusal ? d.refusal->rule : "");
        }
        return n;
    }

    // Job `job` of `environment` once it is no longer running (as jobs() lists it).
    BackupJobView ended(model::RequestNumber n, const std::string& environment, int job) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
        while (std::chrono::steady_clock::now() < deadline) {
            for (auto& view : jobs().jobs(n, environment)) {
                if (view.job.number == job && view.job.state != ledger::BackupJobState::running) {
                    return view;
                }
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        ADD_FAILURE() << "backup job " << job << " of " << environment << " still running";
        return {};
    }

    std::size_t ledger_jobs(model::RequestNumber n) { return host->ledger().backup_jobs(n).size(); }

    static PgCluster* cluster_;
    static int databases_;
    std::filesystem::path dir;
    std::string database;
    std::unique_ptr<LedgerHost> host;
    std::unique_ptr<Backups> backups;
    model::Person driver, other, po;
};

PgCluster* RunBackups::cluster_ = nullptr;
int RunBackups::databases_ = 0;

template <class Fn>
Error error_of(Fn&& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e;
    }
    ADD_FAILURE() << "no error was thrown";
    return Error(ErrorCode::ok, "");
}

TEST_F(RunBackups, AStartedJobRecordsItsVerifiedBackupAndAnnouncesItsWay) {
    const model::RequestNumber n = driven_request();
    BackupReport started = jobs().start(n, "prod", driver);
    EXPECT_EQ(started.status, BackupStatus::started);
    EXPECT_EQ(backup_status_name(started.status), "started");
    EXPECT_EQ(started.job.request, n);
    EXPECT_EQ(started.job.environment, "prod");
    EXPECT_EQ(started.job.number, 1);
    EXPECT_EQ(started.job.state, ledger::BackupJobState::running);
    EXPECT_EQ(started.job.requested_by, driver.id);
    EXPECT_EQ(started.job.instance, "instance-a");
    EXPECT_EQ(started.job.attempts, 1);

    BackupJobView view = ended(n, "prod", 1);
    ASSERT_EQ(view.job.state, ledger::BackupJobState::succeeded) << view.job.error;
    ASSERT_TRUE(view.taken.has_value());
    const model::RequestState state = host->load_request(n);
    ASSERT_EQ(state.backups.size(), 1u);
    EXPECT_EQ(view.job.backup, state.backups[0].number);
    EXPECT_EQ(view.taken->number, state.backups[0].number);
    EXPECT_EQ(view.taken->environment, "prod");
    EXPECT_TRUE(view.taken->result.verified);
    EXPECT_EQ(view.taken->result.sha256, state.backups[0].sha256);
    EXPECT_EQ(view.taken->result.location, state.backups[0].location);
    EXPECT_TRUE(std::filesystem::exists(view.taken->result.location));

    const std::vector<SeenEvent> events = host->events_of(1);
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].kind, BackupEventKind::started);
    EXPECT_EQ(backup_event_name(events[0].kind), "backup.started");
    EXPECT_EQ(events[0].environment, "prod");
    EXPECT_EQ(events[0].attempt, 1);
    // What is dumped is the write closure: the named table and the audit table its trigger writes.
    EXPECT_EQ(events[0].tables,
              (std::vector<std::string>{"app_public.app_user", "app_public.record_version"}));
    EXPECT_EQ(events[1].kind, BackupEventKind::finished);
    EXPECT_EQ(events[1].taken, state.backups[0].number);
}

TEST_F(RunBackups, ASecondStartIsAlreadyRunningACancelIsCancellingAndNothingIsRecorded) {
    const model::RequestNumber n = driven_request();
    ASSERT_EQ(jobs().start(n, "test", driver).status, BackupStatus::started);
    BackupReport twice = jobs().start(n, "test", driver);
    EXPECT_EQ(twice.status, BackupStatus::already_running);
    EXPECT_EQ(backup_status_name(twice.status), "already_running");
    EXPECT_EQ(twice.job.number, 1);
    EXPECT_EQ(twice.job.environment, "test");
    EXPECT_EQ(ledger_jobs(n), 1u);

    // Only the driver cancels; the job runs on meanwhile.
    Error refused = error_of([&] { jobs().cancel(n, "test", other); });
    EXPECT_EQ(refused.code(), ErrorCode::rule);
    EXPECT_EQ(refused.rule(), "driver-required");
    EXPECT_EQ(jobs().jobs(n, "test").at(0).job.state, ledger::BackupJobState::running);

    BackupReport cancelling = jobs().cancel(n, "test", driver);
    EXPECT_EQ(cancelling.status, BackupStatus::cancelling);
    EXPECT_EQ(cancelling.job.number, 1);
    BackupJobView view = ended(n, "test", 1);
    EXPECT_EQ(view.job.state, ledger::BackupJobState::cancelled);
    EXPECT_EQ(view.job.error_code, "rule");
    EXPECT_EQ(view.job.backup, 0);
    EXPECT_FALSE(view.taken.has_value());
    EXPECT_TRUE(host->load_request(n).backups.empty());
    const std::vector<SeenEvent> events = host->events_of(1);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back().kind, BackupEventKind::failed);
    EXPECT_TRUE(events.back().cancelled);
    EXPECT_EQ(events.back().error, "rule");

    BackupReport nothing = jobs().cancel(n, "test", driver);
    EXPECT_EQ(nothing.status, BackupStatus::not_running);
    EXPECT_EQ(nothing.job.environment, "test");
    EXPECT_EQ(nothing.job.request, n);
}

TEST_F(RunBackups, ACommandsOwnWordsStayInAPrivateFileOnTheServer) {
    const model::RequestNumber n = driven_request();
    release_commands();
    ASSERT_EQ(jobs().start(n, "test", driver).status, BackupStatus::started);
    BackupJobView view = ended(n, "test", 1);
    ASSERT_EQ(view.job.state, ledger::BackupJobState::succeeded) << view.job.error;
    ASSERT_TRUE(view.taken.has_value());
    EXPECT_EQ(view.taken->result.location, "label-" + std::to_string(n) + "-test");
    EXPECT_TRUE(view.taken->result.output.empty()) << "a command's output left the job";
    const std::string kept = host->data_dir() + "/request-" + std::to_string(n) + "/backup-" +
                             std::to_string(view.taken->number) + ".out";
    struct stat st {};
    ASSERT_EQ(::stat(kept.c_str(), &st), 0) << kept;
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    std::ifstream in(kept);
    const std::string words((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(words.find("backup-host.internal"), std::string::npos) << words;
}

TEST_F(RunBackups, RefusalsBeforeAJobAreErrorsWithTheirRuleAndStartNothing) {
    const model::RequestNumber n = driven_request();
    Error unknown = error_of([&] { jobs().start(n, "qa", driver); });
    EXPECT_EQ(unknown.code(), ErrorCode::not_found);
    EXPECT_EQ(unknown.rule(), "environment-unknown");
    EXPECT_NE(unknown.hint().find("dev, test, prod"), std::string::npos) << unknown.hint();

    Error unconfigured = error_of([&] { jobs().start(n, "dev", driver); });
    EXPECT_EQ(unconfigured.code(), ErrorCode::config);
    EXPECT_EQ(unconfigured.rule(), "backup-not-configured");
    EXPECT_EQ(unconfigured.message(), "dev has no backup method configured");

    Error not_driver = error_of([&] { jobs().start(n, "prod", other); });
    EXPECT_EQ(not_driver.code(), ErrorCode::rule);
    EXPECT_EQ(not_driver.rule(), "driver-required");

    const model::RequestNumber bare = driven_request(false);
    Error no_revision = error_of([&] { jobs().start(bare, "prod", driver); });
    EXPECT_EQ(no_revision.code(), ErrorCode::rule);
    EXPECT_EQ(no_revision.rule(), "revision-required");

    Error no_request = error_of([&] { jobs().start(99, "prod", driver); });
    EXPECT_EQ(no_request.code(), ErrorCode::not_found);

    EXPECT_EQ(ledger_jobs(n) + ledger_jobs(bare), 0u);
    EXPECT_TRUE(std::filesystem::is_empty(dir / "backups"));
    EXPECT_TRUE(host->events_of(1).empty());
}

TEST_F(RunBackups, ResumeTakesUpThisInstancesJobsAndFailsThoseOfPeopleNoLongerActive) {
    // Rows an earlier life of instance-a left running, and one of another instance.
    const model::RequestNumber mine = driven_request();
    const model::RequestNumber gone = driven_request();
    const model::RequestNumber theirs = driven_request();
    model::AuditEvent event;
    event.at = model::wall_clock_now();
    const model::Person leaver =
        host->ledger()
            .create_user({"Lee Leaver", "lee@example.com", model::Role::developer}, event)
            .person;
    auto left_running = [&](model::RequestNumber n, const model::Person& by,
                            const std::string& instance) {
        ledger::BackupJob job;
        job.request = n;
        job.environment = "prod";
        job.requested_by = by.id;
        job.instance = instance;
        job.started_at = model::wall_clock_now();
        return host->ledger().start_backup_job(job);
    };
    ASSERT_EQ(left_running(mine, driver, "instance-a"), 1);
    ASSERT_EQ(left_running(gone, leaver, "instance-a"), 1);
    ASSERT_EQ(left_running(theirs, driver, "instance-b"), 1);
    ASSERT_TRUE(host->ledger().set_user_active(leaver.id, false, event));

    EXPECT_EQ(jobs("instance-a").resume(), 2);
    BackupJobView resumed = ended(mine, "prod", 1);
    EXPECT_EQ(resumed.job.state, ledger::BackupJobState::succeeded) << resumed.job.error;
    EXPECT_EQ(resumed.job.attempts, 2);
    EXPECT_EQ(host->load_request(mine).backups.size(), 1u);

    BackupJobView failed = ended(gone, "prod", 1);
    EXPECT_EQ(failed.job.state, ledger::BackupJobState::failed);
    EXPECT_EQ(failed.job.error_code, "rule");
    EXPECT_NE(failed.job.error.find("no longer active"), std::string::npos) << failed.job.error;
    EXPECT_TRUE(host->load_request(gone).backups.empty());

    const auto other_instance = host->ledger().backup_jobs(theirs);
    ASSERT_EQ(other_instance.size(), 1u);
    EXPECT_EQ(other_instance[0].state, ledger::BackupJobState::running);
    EXPECT_EQ(other_instance[0].attempts, 1);
}

}  // namespace
}  // namespace datafix::run
