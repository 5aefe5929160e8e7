// Backup jobs for one request and environment, from the driver's step to the recorded result.
#include "server/backups.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "core/fault.hpp"

#include "run/executor.hpp"
#include "run/leader.hpp"
#include "server/api_error.hpp"

namespace datafix::server {

namespace {

// Checked before a backup that may take long, so a pair or a stale driver learns at once. The
// workflow checks the same again when the result is recorded.
void require_driver(const model::RequestState& state, const workflow::Actor& actor,
                    model::RequestNumber number) {
    const bool driving = state.claim && state.claim->driver == actor.id &&
                         state.claim->lease_expires_at > model::wall_clock_now();
    if (!driving) {
        throw ApiError(ErrorCode::rule, "driver-required",
                       "only the driver of request " + std::to_string(number) +
                           " may take or cancel its backup",
                       "claim it first (datafix claim " + std::to_string(number) + ")");
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
        throw ApiError(ErrorCode::rule, "revision-required",
                       "no change is attached to the request yet",
                       "attach the change first (datafix change " + std::to_string(number) +
                           " --change FILE --expect ROWS)");
    }
    return *revision;
}

const backup::BackupSettings& settings_for(const Context& context, const std::string& environment) {
    const EnvironmentConfig* env = &context.config().require_environment(environment);
    if (!env->backup) {
        throw ApiError(ErrorCode::config, "backup-not-configured",
                       environment + " has no backup method configured",
                       "add [environment.backup] for " + environment +
                           " to datafix.toml (see examples/datafix.toml)");
    }
    return *env->backup;
}

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

// The command's own words stay on the server (0600 next to the request's images): they may
// name hosts or paths, and nothing about them belongs in the API's answer.
void keep_command_output(const Config& config, model::RequestNumber number, int backup_number,
                         const std::string& output) {
    if (output.empty()) {
        return;
    }
    std::string dir = config.server.data_dir + "/request-" + std::to_string(number);
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

ApiError job_running(model::RequestNumber number, const std::string& environment, int job) {
    return ApiError(ErrorCode::rule, "backup-running",
                    "backup job " + std::to_string(job) + " of " + environment +
                        " is already running for request " + std::to_string(number),
                    "follow it with datafix backup " + std::to_string(number) + " " + environment +
                        " --follow, or cancel it with --cancel");
}

}  // namespace

std::vector<backup::TableName> closure_tables(const EnvironmentConfig& environment,
                                              const model::Revision& revision) {
    // The pre-flight resolves each table as the change will (search_path included) and follows
    // triggers, foreign-key actions and rules: the backup holds every table the change can write.
    targetdb::ChangePlan plan = run::change_plan(revision, "backup");
    targetdb::PreflightReport report = run::on_leader(
        environment, [&](run::LeaderSession& leader) { return leader.session().preflight(plan); });
    std::vector<backup::TableName> tables;
    for (const auto& t : report.tables) {
        if (t.found) {
            tables.push_back(backup::TableName{t.schema, t.table});
        }
    }
    if (tables.empty()) {
        throw ApiError(
            ErrorCode::rule, "nothing-to-back-up",
            "none of the tables the change writes exists in " + environment.target.name,
            "see what the change writes there: datafix preflight N " + environment.target.name);
    }
    return tables;
}

Backups::Backups(Context& context, std::string instance)
    : context_(context), instance_(std::move(instance)) {}

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

nlohmann::json Backups::start(model::RequestNumber number, const std::string& environment,
                              const workflow::Actor& actor) {
    settings_for(context_, environment);
    revision_to_back_up(context_.load_request(number), actor, number);
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
            throw ApiError(ErrorCode::busy, "server-stopping", "the server is stopping",
                           "take the backup again once the server is back");
        }
        if (auto it = running_.find(key); it != running_.end()) {
            throw job_running(number, environment, it->second.job);
        }
        int assigned =
            context_.with_ledger([&](ledger::Ledger& l) { return l.start_backup_job(job); });
        if (assigned < 0) {
            throw job_running(number, environment, -assigned);
        }
        job.number = assigned;
    }
    launch(job, actor);
    return view(job);
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
        nlohmann::json answer = take(job, actor, cancel);
        {
            std::lock_guard lock(mutex_);
            results_[{job.request, job.number}] = answer;
        }
        finish(job, ledger::BackupJobState::succeeded, answer.value("number", 0), "", "");
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
            context_.log().info("request {} backup job {} of {}: stopped with the server",
                                job.request, job.number, job.environment);
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

nlohmann::json Backups::take(const ledger::BackupJob& job, const workflow::Actor& actor,
                             const std::shared_ptr<std::atomic<bool>>& cancel) {
    const model::RequestNumber number = job.request;
    const std::string& environment = job.environment;
    const backup::BackupSettings& settings = settings_for(context_, environment);
    try {
        const model::RequestState state = context_.load_request(number);
        const model::Revision& revision = revision_to_back_up(state, actor, number);
        // settings_for has found the environment.
        const EnvironmentConfig& configured = *context_.config().find_environment(environment);
        backup::BackupRequest request{number,
                                      closure_tables(as_person(configured, actor), revision)};

        context_.announce(number, "backup.started",
                          {{"environment", environment},
                           {"job", job.number},
                           {"attempt", job.attempts},
                           {"method", std::string(backup::method_name(settings.method))},
                           {"tables", tables_json(request.tables)}});
        backup::BackupControl control;
        control.cancel = cancel.get();
        control.progress_interval = std::chrono::milliseconds(500);
        control.on_progress = [this, number, environment,
                               job_number = job.number](const backup::Progress& p) {
            // Not logged: one line every half second says nothing the started/finished lines
            // do not.
            context_.events().publish(number, "backup.progress",
                                      {{"environment", environment},
                                       {"job", job_number},
                                       {"bytes_written", p.bytes_written},
                                       {"elapsed_ms", millis(p.elapsed)}});
        };
        backup::BackupResult result = backup::take_backup(settings, request, control);

        workflow::RecordBackup record{environment,       result.verified, result.taken_at,
                                      result.size_bytes, result.sha256,   result.location};
        workflow::Decision decision = context_.perform(number, record, actor);
        if (!decision.allowed()) {
            throw_refusal(*decision.refusal);
        }
        const model::Backup& recorded = decision.state.backups.back();
        keep_command_output(context_.config(), number, recorded.number, result.output);
        nlohmann::json answer = {
            {"number", recorded.number},
            {"environment", environment},
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
        context_.announce(number, "backup.finished",
                          {{"environment", environment},
                           {"job", job.number},
                           {"number", recorded.number},
                           {"verified", result.verified},
                           {"size_bytes", result.size_bytes},
                           {"sha256", result.sha256},
                           {"elapsed_ms", millis(result.elapsed)}});
        return answer;
    } catch (const Error& e) {
        context_.announce(number, "backup.failed",
                          {{"environment", environment},
                           {"job", job.number},
                           {"error", std::string(code_name(e.code()))},
                           {"cancelled", cancel->load()}});
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
        context_.with_ledger([&](ledger::Ledger& l) {
            l.update_backup_job(job);
            return 0;
        });
    } catch (const std::exception& e) {
        // The job then shows running until this server's next start, which ends it: taken up
        // again, its backup is recorded once more or its failure said again.
        context_.log().warn("request {} backup job {}: its end was not recorded: {}", job.request,
                            job.number, e.what());
    }
}

nlohmann::json Backups::cancel(model::RequestNumber number, const std::string& environment,
                               const workflow::Actor& actor) {
    require_driver(context_.load_request(number), actor, number);
    std::lock_guard lock(mutex_);
    auto it = running_.find({number, environment});
    if (it == running_.end()) {
        throw ApiError(ErrorCode::not_found, "no-backup-running",
                       "no backup of " + environment + " is running for request " +
                           std::to_string(number) + " on this server",
                       "nothing to cancel; datafix backup " + std::to_string(number) + " " +
                           environment + " --follow shows its jobs");
    }
    it->second.cancelled_by_person = true;
    it->second.cancel->store(true);
    return {{"environment", environment}, {"job", it->second.job}, {"cancelling", true}};
}

nlohmann::json Backups::jobs(model::RequestNumber number, const std::string& environment,
                             const workflow::Actor& /*actor*/) {
    context_.load_request(number);
    auto all = context_.with_ledger([&](ledger::Ledger& l) { return l.backup_jobs(number); });
    nlohmann::json list = nlohmann::json::array();
    for (const auto& job : all) {
        if (job.environment == environment) {
            list.push_back(view(job));
        }
    }
    return {{"environment", environment}, {"jobs", list}};
}

int Backups::resume() {
    auto jobs =
        context_.with_ledger([&](ledger::Ledger& l) { return l.running_backup_jobs(instance_); });
    for (auto& job : jobs) {
        auto person =
            context_.with_ledger([&](ledger::Ledger& l) { return l.find_user(job.requested_by); });
        job.attempts += 1;
        if (!person || !person->active) {
            finish(job, ledger::BackupJobState::failed, 0, "rule",
                   "the server stopped during this backup and the person who started it is no "
                   "longer active");
            continue;
        }
        context_.with_ledger([&](ledger::Ledger& l) {
            l.update_backup_job(job);
            return 0;
        });
        context_.log().info("request {} backup job {} of {}: taken up again (attempt {})",
                            job.request, job.number, job.environment, job.attempts);
        launch(job, *person);
    }
    return static_cast<int>(jobs.size());
}

nlohmann::json Backups::view(const ledger::BackupJob& job) {
    nlohmann::json j = backup_job_json(job, context_.people());
    std::lock_guard lock(mutex_);
    if (auto it = results_.find({job.request, job.number}); it != results_.end()) {
        j["result"] = it->second;
    }
    return j;
}

}  // namespace datafix::server
