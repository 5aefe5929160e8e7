// Backup jobs for one request and environment, from the driver's step to the recorded result.
#include "run/backups.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include "core/error.hpp"
#include "run/executor.hpp"
#include "run/leader.hpp"

namespace datafix::run {

namespace {

// Checked before a backup that may take long, so a pair or a stale driver learns at once. The
// workflow checks the same again when the result is recorded.
void require_driver(const model::RequestState& state, const workflow::Actor& actor,
                    model::RequestNumber number) {
    const bool driving = state.claim && state.claim->driver == actor.id &&
                         state.claim->lease_expires_at > model::wall_clock_now();
    if (!driving) {
        throw Error(ErrorCode::rule,
                    "only the driver of request " + std::to_string(number) +
                        " may take or cancel its backup",
                    "claim it first (datafix claim " + std::to_string(number) + ")",
                    "driver-required");
    }
}

// The driver's current revision, checked before a job starts and again when it runs (a job taken
// up after a restart meets a claim that may have lapsed meanwhile).
const model::Revision& revision_to_back_up(const model::RequestState& state,
                                           const workflow::Actor& actor,
                                           model::RequestNumber number) {
    require_driver(state, actor, number);
    const model::Revision* revision = state.current_revision();
    if (revision == nullptr) {
        throw Error(ErrorCode::rule, "no change is attached to the request yet",
                    "attach the change first (datafix change " + std::to_string(number) +
                        " --change FILE --expect ROWS)",
                    "revision-required");
    }
    return *revision;
}

// The configured environment with its backup method; the workflow's refusal of an unknown name
// (the same one every step gives), Error(config) when it has no backup method.
const EnvironmentConfig& backed_up_environment(const Host& host, const std::string& environment) {
    const EnvironmentConfig* env = host.find_environment(environment);
    if (env == nullptr) {
        std::vector<std::string> names;
        for (const auto& rules : host.workflow_config().environments) {
            names.push_back(rules.name);
        }
        workflow::throw_refusal(workflow::unknown_environment(environment, names));
    }
    if (!env->backup) {
        throw Error(ErrorCode::config, environment + " has no backup method configured",
                    "add [environment.backup] for " + environment +
                        " to datafix.toml (see examples/datafix.toml)",
                    "backup-not-configured");
    }
    return *env;
}

// The command's own words stay on the server (0600 next to the request's images): they may
// name hosts or paths, and nothing about them belongs in the API's answer.
void keep_command_output(const std::string& data_dir, model::RequestNumber number,
                         int backup_number, const std::string& output) {
    if (output.empty()) {
        return;
    }
    std::string dir = data_dir + "/request-" + std::to_string(number);
    std::filesystem::create_directories(dir);
    std::string path = dir + "/backup-" + std::to_string(backup_number) + ".out";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        return;
    }
    std::size_t written = 0;
    while (written < output.size()) {
        ssize_t n = ::write(fd, output.data() + written, output.size() - written);
        if (n <= 0) {
            break;
        }
        written += static_cast<std::size_t>(n);
    }
    ::close(fd);
}

BackupReport job_report(BackupStatus status, model::RequestNumber number,
                        const std::string& environment, int job = 0) {
    BackupReport r;
    r.status = status;
    r.job.request = number;
    r.job.environment = environment;
    r.job.number = job;
    return r;
}

}  // namespace

std::vector<backup::TableName> closure_tables(const EnvironmentConfig& environment,
                                              const model::Revision& revision) {
    // The pre-flight resolves each table as the change will (search_path included) and follows
    // triggers, foreign-key actions and rules: the backup holds every table the change can write.
    targetdb::ChangePlan plan = change_plan(revision, "backup");
    targetdb::PreflightReport report = on_leader(
        environment, [&](LeaderSession& leader) { return leader.session().preflight(plan); });
    std::vector<backup::TableName> tables;
    for (const auto& t : report.tables) {
        if (t.found) {
            tables.push_back(backup::TableName{t.schema, t.table});
        }
    }
    if (tables.empty()) {
        throw Error(
            ErrorCode::rule,
            "none of the tables the change writes exists in " + environment.target.name,
            "see what the change writes there: datafix preflight N " + environment.target.name,
            "nothing-to-back-up");
    }
    return tables;
}

Backups::Backups(Host& host, std::string instance) : host_(host), instance_(std::move(instance)) {}

Backups::~Backups() {
    std::vector<std::thread> threads;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        for (auto& [key, running] : running_) {
            running.cancel->store(true);
        }
        threads.swap(threads_);
    }
    for (auto& t : threads) {
        t.join();
    }
}

BackupReport Backups::start(model::RequestNumber number, const std::string& environment,
                            const workflow::Actor& actor) {
    backed_up_environment(host_, environment);
    revision_to_back_up(host_.load_request(number), actor, number);
    const Key key{number, environment};
    ledger::BackupJob job;
    job.request = number;
    job.environment = environment;
    job.requested_by = actor.id;
    job.instance = instance_;
    job.started_at = model::wall_clock_now();
    {
        std::lock_guard lock(mutex_);
        if (stopping_) {
            return job_report(BackupStatus::stopping, number, environment);
        }
        if (auto it = running_.find(key); it != running_.end()) {
            return job_report(BackupStatus::already_running, number, environment, it->second.job);
        }
        // Negative: the number of the job already running there (another server's, on a shared
        // ledger).
        int assigned =
            host_.with_ledger([&](ledger::Ledger& l) { return l.start_backup_job(job); });
        if (assigned < 0) {
            return job_report(BackupStatus::already_running, number, environment, -assigned);
        }
        job.number = assigned;
    }
    launch(job, actor);
    return BackupReport{BackupStatus::started, job};
}

void Backups::launch(ledger::BackupJob job, workflow::Actor actor) {
    auto cancel = std::make_shared<std::atomic<bool>>(false);
    std::lock_guard lock(mutex_);
    running_[{job.request, job.environment}] = Running{job.number, cancel, false};
    threads_.emplace_back([this, job = std::move(job), actor = std::move(actor), cancel] {
        run(job, actor, cancel);
    });
}

void Backups::run(ledger::BackupJob job, const workflow::Actor& actor,
                  const std::shared_ptr<std::atomic<bool>>& cancel) {
    const Key key{job.request, job.environment};
    auto unregister = [&] {
        std::lock_guard lock(mutex_);
        running_.erase(key);
    };
    try {
        BackupTaken taken = take(job, actor, cancel);
        const int recorded = taken.number;
        {
            std::lock_guard lock(mutex_);
            taken_[{job.request, job.number}] = std::move(taken);
        }
        finish(job, ledger::BackupJobState::succeeded, recorded, "", "");
    } catch (const std::exception& e) {
        bool cancelled_by_person = false;
        bool shutting_down = false;
        {
            std::lock_guard lock(mutex_);
            auto it = running_.find(key);
            cancelled_by_person = it != running_.end() && it->second.cancelled_by_person;
            shutting_down = stopping_;
        }
        if (shutting_down && !cancelled_by_person) {
            // Left running in the ledger: the next start of this server takes it up again.
            host_.log().info("request {} backup job {} of {}: stopped with the server", job.request,
                             job.number, job.environment);
            unregister();
            return;
        }
        const auto* error = dynamic_cast<const Error*>(&e);
        const std::string code =
            error != nullptr ? std::string(code_name(error->code())) : "internal";
        finish(job,
               cancelled_by_person ? ledger::BackupJobState::cancelled
                                   : ledger::BackupJobState::failed,
               0, code, error != nullptr ? error->message() : "the backup stopped unexpectedly");
    }
    unregister();
}

BackupTaken Backups::take(const ledger::BackupJob& job, const workflow::Actor& actor,
                          const std::shared_ptr<std::atomic<bool>>& cancel) {
    const model::RequestNumber number = job.request;
    const std::string& environment = job.environment;
    const EnvironmentConfig& configured = backed_up_environment(host_, environment);
    const backup::BackupSettings& settings = *configured.backup;
    try {
        const model::RequestState state = host_.load_request(number);
        const model::Revision& revision = revision_to_back_up(state, actor, number);
        backup::BackupRequest request{number,
                                      closure_tables(as_person(configured, actor), revision)};

        host_.announce(number, BackupEvent{.kind = BackupEventKind::started,
                                           .environment = environment,
                                           .job = job.number,
                                           .attempt = job.attempts,
                                           .method = settings.method,
                                           .tables = request.tables});
        backup::BackupControl control;
        control.cancel = cancel.get();
        control.progress_interval = std::chrono::milliseconds(500);
        control.on_progress = [this, number, environment,
                               job_number = job.number](const backup::Progress& p) {
            host_.announce(number, BackupEvent{.kind = BackupEventKind::progress,
                                               .environment = environment,
                                               .job = job_number,
                                               .progress = p});
        };
        backup::BackupResult result = backup::take_backup(settings, request, control);

        workflow::RecordBackup record{environment,       result.verified, result.taken_at,
                                      result.size_bytes, result.sha256,   result.location};
        workflow::Decision decision = host_.perform(number, record, actor);
        if (!decision.allowed()) {
            workflow::throw_refusal(*decision.refusal);
        }
        const model::Backup& recorded = decision.state.backups.back();
        keep_command_output(host_.data_dir(), number, recorded.number, result.output);
        result.output.clear();
        BackupTaken taken{recorded.number, environment, std::move(result)};
        host_.announce(number, BackupEvent{.kind = BackupEventKind::finished,
                                           .environment = environment,
                                           .job = job.number,
                                           .taken = &taken});
        return taken;
    } catch (const Error& e) {
        host_.announce(number, BackupEvent{.kind = BackupEventKind::failed,
                                           .environment = environment,
                                           .job = job.number,
                                           .error = std::string(code_name(e.code())),
                                           .cancelled = cancel->load()});
        throw;
    }
}

void Backups::finish(ledger::BackupJob job, ledger::BackupJobState state, int backup,
                     const std::string& error_code, const std::string& error) {
    job.state = state;
    job.finished_at = model::wall_clock_now();
    job.backup = backup;
    job.error_code = error_code;
    job.error = error;
    try {
        host_.with_ledger([&](ledger::Ledger& l) {
            l.update_backup_job(job);
            return 0;
        });
    } catch (const std::exception& e) {
        // The job then shows running until this server's next start, which ends it: taken up
        // again, its backup is recorded once more or its failure said again.
        host_.log().warn("request {} backup job {}: its end was not recorded: {}", job.request,
                         job.number, e.what());
    }
}

BackupReport Backups::cancel(model::RequestNumber number, const std::string& environment,
                             const workflow::Actor& actor) {
    require_driver(host_.load_request(number), actor, number);
    std::lock_guard lock(mutex_);
    auto it = running_.find({number, environment});
    if (it == running_.end()) {
        return job_report(BackupStatus::not_running, number, environment);
    }
    it->second.cancelled_by_person = true;
    it->second.cancel->store(true);
    return job_report(BackupStatus::cancelling, number, environment, it->second.job);
}

std::vector<BackupJobView> Backups::jobs(model::RequestNumber number,
                                         const std::string& environment) {
    host_.load_request(number);
    auto all = host_.with_ledger([&](ledger::Ledger& l) { return l.backup_jobs(number); });
    std::vector<BackupJobView> views;
    std::lock_guard lock(mutex_);
    for (auto& job : all) {
        if (job.environment != environment) {
            continue;
        }
        BackupJobView view{std::move(job), std::nullopt};
        if (auto it = taken_.find({number, view.job.number}); it != taken_.end()) {
            view.taken = it->second;
        }
        views.push_back(std::move(view));
    }
    return views;
}

int Backups::resume() {
    auto jobs =
        host_.with_ledger([&](ledger::Ledger& l) { return l.running_backup_jobs(instance_); });
    for (auto& job : jobs) {
        auto person =
            host_.with_ledger([&](ledger::Ledger& l) { return l.find_user(job.requested_by); });
        job.attempts += 1;
        if (!person || !person->active) {
            finish(job, ledger::BackupJobState::failed, 0, "rule",
                   "the server stopped during this backup and the person who started it is no "
                   "longer active");
            continue;
        }
        host_.with_ledger([&](ledger::Ledger& l) {
            l.update_backup_job(job);
            return 0;
        });
        host_.log().info("request {} backup job {} of {}: taken up again (attempt {})", job.request,
                         job.number, job.environment, job.attempts);
        launch(job, *person);
    }
    return static_cast<int>(jobs.size());
}

}  // namespace datafix::run
