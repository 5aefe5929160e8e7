// A backup for one request and environment, from the driver's step to the recorded result.
#include "server/backups.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "server/api_error.hpp"
#include "server/executor.hpp"
#include "server/leader.hpp"

namespace datafix::server {

namespace {

ledger::RequestState load_state(Context& context, ledger::RequestNumber number) {
    auto state = context.with_ledger([&](ledger::Ledger& l) { return l.load(number); });
    if (!state) {
        throw ApiError(ErrorCode::not_found, "request-not-found",
                       "no request " + std::to_string(number), "list requests with datafix list");
    }
    return *state;
}

// Checked before a backup that may take long, so a pair or a stale driver learns at once. The
// workflow checks the same again when the result is recorded.
void require_driver(const ledger::RequestState& state, const workflow::Actor& actor,
                    ledger::RequestNumber number) {
    const bool driving = state.claim && state.claim->driver == actor.id &&
                         state.claim->lease_expires_at > ledger::wall_clock_now();
    if (!driving) {
        throw ApiError(ErrorCode::rule, "driver-required",
                       "only the driver of request " + std::to_string(number) +
                           " may take or cancel its backup",
                       "claim it first (datafix claim " + std::to_string(number) + ")");
    }
}

const backup::BackupSettings& settings_for(const Context& context, const std::string& environment) {
    const EnvironmentConfig* env = context.config().find_environment(environment);
    if (env == nullptr) {
        throw ApiError(ErrorCode::not_found, "environment-not-found",
                       "no environment " + environment + " is configured",
                       "see the environments in datafix.toml");
    }
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
void keep_command_output(const Config& config, ledger::RequestNumber number, int backup_number,
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

}  // namespace

std::vector<backup::TableName> closure_tables(const EnvironmentConfig& environment,
                                              const ledger::Revision& revision) {
    // The pre-flight resolves each table as the change will (search_path included) and follows
    // triggers, foreign-key actions and rules: the backup holds every table the change can write.
    target::ChangePlan plan = change_plan(revision, "backup");
    target::PreflightReport report = on_leader(
        environment, [&](LeaderSession& leader) { return leader.session().preflight(plan); });
    std::vector<backup::TableName> tables;
    for (const auto& t : report.tables) {
        if (t.found) {
            tables.push_back(backup::TableName{t.schema, t.table});
        }
    }
    if (tables.empty()) {
        throw ApiError(ErrorCode::rule, "nothing-to-back-up",
                       "none of the tables the change writes exists in " + environment.target.name,
                       "run datafix preflight for this environment and read its findings");
    }
    return tables;
}

Backups::Backups(Context& context) : context_(context) {}

nlohmann::json Backups::take(ledger::RequestNumber number, const std::string& environment,
                             const workflow::Actor& actor) {
    const backup::BackupSettings& settings = settings_for(context_, environment);
    ledger::RequestState state = load_state(context_, number);
    require_driver(state, actor, number);
    const ledger::Revision* revision = state.current_revision();
    if (revision == nullptr) {
        throw ApiError(ErrorCode::rule, "revision-required",
                       "no change is attached to the request yet",
                       "attach the change first (datafix change)");
    }
    // settings_for has found the environment.
    const EnvironmentConfig& configured = *context_.config().find_environment(environment);
    backup::BackupRequest request{number, closure_tables(as_person(configured, actor), *revision)};

    auto cancel = std::make_shared<std::atomic<bool>>(false);
    const Key key{number, environment};
    {
        std::lock_guard lock(mutex_);
        if (!running_.emplace(key, cancel).second) {
            throw ApiError(ErrorCode::rule, "backup-running",
                           "a backup of " + environment + " is already running for request " +
                               std::to_string(number),
                           "wait for it, or cancel it (Ctrl-C in datafix backup)");
        }
    }
    struct Unregister {
        Backups& self;
        Key key;
        ~Unregister() {
            std::lock_guard lock(self.mutex_);
            self.running_.erase(key);
        }
    } unregister{*this, key};

    context_.announce(number, "backup.started",
                      {{"environment", environment},
                       {"method", std::string(backup::method_name(settings.method))},
                       {"tables", tables_json(request.tables)}});
    backup::BackupControl control;
    control.cancel = cancel.get();
    control.progress_interval = std::chrono::milliseconds(500);
    control.on_progress = [this, number, environment](const backup::Progress& p) {
        // Not logged: one line every half second says nothing the started/finished lines do not.
        context_.events().publish(number, "backup.progress",
                                  {{"environment", environment},
                                   {"bytes_written", p.bytes_written},
                                   {"elapsed_ms", millis(p.elapsed)}});
    };
    backup::BackupResult result;
    try {
        result = backup::take_backup(settings, request, control);
    } catch (const Error& e) {
        context_.announce(number, "backup.failed",
                          {{"environment", environment},
                           {"error", std::string(code_name(e.code()))},
                           {"cancelled", cancel->load()}});
        throw;
    }

    workflow::RecordBackup record{environment,       result.verified, result.taken_at,
                                  result.size_bytes, result.sha256,   result.location};
    workflow::Decision decision = context_.perform(number, record, actor);
    if (!decision.allowed()) {
        throw_refusal(*decision.refusal);
    }
    const ledger::Backup& recorded = decision.state.backups.back();
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
                       {"number", recorded.number},
                       {"verified", result.verified},
                       {"size_bytes", result.size_bytes},
                       {"sha256", result.sha256},
                       {"elapsed_ms", millis(result.elapsed)}});
    return answer;
}

nlohmann::json Backups::cancel(ledger::RequestNumber number, const std::string& environment,
                               const workflow::Actor& actor) {
    require_driver(load_state(context_, number), actor, number);
    std::lock_guard lock(mutex_);
    auto it = running_.find({number, environment});
    if (it == running_.end()) {
        throw ApiError(
            ErrorCode::not_found, "no-backup-running",
            "no backup of " + environment + " is running for request " + std::to_string(number),
            "nothing to cancel");
    }
    it->second->store(true);
    return {{"environment", environment}, {"cancelling", true}};
}

}  // namespace datafix::server
