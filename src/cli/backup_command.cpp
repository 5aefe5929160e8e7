// `datafix backup N ENV`: the server takes and verifies a backup of the tables the change writes
// (before prod, the runbook's step 5) as a job that outlives this command. Progress (bytes
// written, elapsed) follows the request's live events and the job's state is polled until it
// ends; Ctrl-C asks the server to cancel, which kills the dump and leaves no file. --detach
// starts the job and returns, --follow waits for the running job, --cancel stops it.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <thread>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/verb_support.hpp"

namespace datafix::cli {

namespace {

volatile std::sig_atomic_t interrupted = 0;

extern "C" void on_interrupt(int) {
    interrupted = 1;
}

std::string size_text(std::uint64_t bytes) {
    char buf[32];
    if (bytes >= 1024 * 1024) {
        std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
    } else if (bytes >= 1024) {
        std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / 1024.0);
    } else {
        std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(bytes));
    }
    return buf;
}

std::string seconds_text(long long ms) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000.0);
    return buf;
}

// Follows the request's events and prints the backup's progress on stderr until the backup of
// `environment` finishes or fails, or stop() is called (checked at every event or keep-alive).
class ProgressFollower {
  public:
    ProgressFollower(const VerbOptions& options, bool quiet)
        : options_(options), quiet_(quiet), tty_(::isatty(STDERR_FILENO) == 1) {}

    void start() {
        thread_ = std::thread([this] { follow(); });
        std::unique_lock lock(mutex_);
        // The stream is open before the backup starts, so no event is missed; a server that does
        // not answer the stream must not hold the backup up.
        watching_cv_.wait_for(lock, std::chrono::seconds(2), [this] { return watching_; });
    }
    void stop() {
        stop_ = true;
        if (thread_.joinable()) {
            thread_.join();
        }
        if (tty_ && printed_) {
            std::cerr << "\n";
        }
    }

  private:
    void follow() {
        try {
            ApiClient client(options_.flags);
            std::string buffer;
            client.stream(request_path(options_.request, "/events"), [&](std::string_view chunk) {
                buffer.append(chunk);
                std::size_t end;
                while ((end = buffer.find("\n\n")) != std::string::npos) {
                    std::string frame = buffer.substr(0, end);
                    buffer.erase(0, end + 2);
                    if (!handle(frame)) {
                        return false;
                    }
                }
                return !stop_;
            });
        } catch (const std::exception&) {
            // Progress is a courtesy: the backup's own answer says whether it worked.
        }
        std::lock_guard lock(mutex_);
        watching_ = true;
        watching_cv_.notify_all();
    }

    // False once the backup ended.
    bool handle(const std::string& frame) {
        std::size_t data = frame.find("data: ");
        if (data == std::string::npos) {
            return true;
        }
        auto event = nlohmann::json::parse(frame.substr(data + 6), nullptr, false);
        if (event.is_discarded()) {
            return true;
        }
        std::string type = event.value("type", "");
        if (type == "watching") {
            std::lock_guard lock(mutex_);
            watching_ = true;
            watching_cv_.notify_all();
            return true;
        }
        if (event.value("environment", "") != options_.environment) {
            return true;
        }
        if (type == "backup.finished" || type == "backup.failed") {
            return false;
        }
        if (type == "backup.progress" && !quiet_) {
            auto now = std::chrono::steady_clock::now();
            if (!tty_ && printed_ && now - last_line_ < std::chrono::seconds(1)) {
                return true;
            }
            last_line_ = now;
            printed_ = true;
            std::string line = "  backing up " + options_.environment + ": " +
                               size_text(event.value("bytes_written", std::uint64_t{0})) +
                               " written, " + seconds_text(event.value("elapsed_ms", 0LL)) +
                               " elapsed";
            std::cerr << (tty_ ? "\r" + line + "\033[K" : line + "\n") << std::flush;
        }
        return true;
    }

    const VerbOptions& options_;
    bool quiet_;
    bool tty_;
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    std::condition_variable watching_cv_;
    bool watching_ = false;
    bool printed_ = false;
    std::chrono::steady_clock::time_point last_line_{};
    std::thread thread_;
};

// While the backup runs, turns a Ctrl-C into the cancel route (once; a second Ctrl-C kills).
class CancelOnInterrupt {
  public:
    explicit CancelOnInterrupt(const VerbOptions& options) : options_(options) {
        interrupted = 0;
        struct sigaction sa {};
        sa.sa_handler = on_interrupt;
        sa.sa_flags = SA_RESETHAND;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &previous_);
        thread_ = std::thread([this] { watch(); });
    }
    ~CancelOnInterrupt() {
        done_ = true;
        thread_.join();
        sigaction(SIGINT, &previous_, nullptr);
    }
    CancelOnInterrupt(const CancelOnInterrupt&) = delete;
    CancelOnInterrupt& operator=(const CancelOnInterrupt&) = delete;

  private:
    void watch() {
        while (!done_) {
            if (interrupted != 0) {
                std::cerr << "\n  cancelling the backup of " << options_.environment << "...\n";
                try {
                    ApiClient client(options_.flags);
                    client.post(
                        request_path(options_.request,
                                     "/environments/" + options_.environment + "/backup/cancel"),
                        nlohmann::json::object());
                } catch (const std::exception& e) {
                    std::cerr << "  cancel failed: " << e.what() << "\n";
                }
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }

    const VerbOptions& options_;
    struct sigaction previous_ {};
    std::atomic<bool> done_{false};
    std::thread thread_;
};

std::string backup_path(const VerbOptions& o, const std::string& tail = "") {
    return request_path(o.request, "/environments/" + o.environment + "/backup" + tail);
}

// The environment's newest job, or null.
nlohmann::json newest_job(ApiClient& client, const VerbOptions& o) {
    nlohmann::json jobs = client.get(backup_path(o))["jobs"];
    return jobs.empty() ? nlohmann::json(nullptr) : jobs.back();
}

// Polls the job until it is no longer running.
nlohmann::json wait_for(ApiClient& client, const VerbOptions& o, int job) {
    for (;;) {
        const nlohmann::json listed = client.get(backup_path(o));
        for (const auto& j : listed["jobs"]) {
            if (j.value("job", 0) == job && j.value("state", "") != "running") {
                return j;
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
}

int print_job_end(const VerbOptions& o, const nlohmann::json& job) {
    const std::string state = job.value("state", "");
    if (state != "succeeded") {
        const nlohmann::json& failure = job["failure"];
        std::string message = failure.is_object() ? failure.value("message", "") : "";
        ErrorCode code = failure.is_object() ? code_from_name(failure.value("code", "internal"))
                                             : ErrorCode::internal;
        throw Error(code,
                    "backup job " + text(job["job"]) + " of " + o.environment + " " + state +
                        (message.empty() ? "" : ": " + message),
                    "take the backup again (datafix backup " + std::to_string(o.request) + " " +
                        o.environment + ") once the cause is fixed");
    }
    if (o.flags.json()) {
        print_json(job);
        return 0;
    }
    Style style(o.flags);
    const nlohmann::json result = job.contains("result") ? job["result"] : nlohmann::json::object();
    std::cout << style.green("✓ ") << "backup " << text(job["backup"]) << " of request #"
              << o.request << " on " << o.environment << ": "
              << (result.value("verified", true) ? style.green("verified")
                                                 : style.red("not verified"));
    if (result.contains("size_bytes")) {
        std::cout << ", " << size_text(result.value("size_bytes", std::uint64_t{0})) << " in "
                  << seconds_text(result.value("elapsed_ms", 0LL));
    }
    std::cout << " (job " << text(job["job"]);
    if (job.value("attempts", 1) > 1) {
        std::cout << ", attempt " << text(job["attempts"]);
    }
    std::cout << ")\n";
    if (result.contains("sha256")) {
        std::cout << "  sha256  " << text(result["sha256"]) << "\n";
        std::cout << "  where   " << text(result["location"]) << "\n";
    }
    std::string tables;
    for (const auto& t : result.value("tables", nlohmann::json::array())) {
        tables += (tables.empty() ? "" : ", ") + text(t);
    }
    if (!tables.empty()) {
        std::cout << "  tables  " << tables << "\n";
    }
    std::cout << "  the driver may now apply: datafix apply " << o.request << " " << o.environment
              << "\n";
    return 0;
}

// Follows job `job` (progress lines unless quiet) to its end.
int follow(const VerbOptions& o, bool quiet, int job) {
    ApiClient client(o.flags);
    ProgressFollower progress(o, quiet || o.flags.json());
    progress.start();
    nlohmann::json end;
    try {
        CancelOnInterrupt cancel(o);
        end = wait_for(client, o, job);
    } catch (...) {
        progress.stop();
        throw;
    }
    progress.stop();
    return print_job_end(o, end);
}

}  // namespace

void register_backup(CLI::App& root, Action& action) {
    auto o = std::make_shared<VerbOptions>();
    auto quiet = std::make_shared<bool>(false);
    auto mode = std::make_shared<std::string>("take");
    auto* cmd = root.add_subcommand(
        "backup", "take a verified backup of the tables the change writes (before prod)");
    add_request_argument(*cmd, *o);
    cmd->add_option("environment", o->environment, "the environment to back up (e.g. prod)")
        ->required();
    cmd->add_flag("--quiet,-q", *quiet, "no progress lines");
    auto* detach = cmd->add_flag_callback(
        "--detach", [mode] { *mode = "detach"; },
        "start the backup job and return; it goes on in the server");
    auto* follow_flag = cmd->add_flag_callback(
        "--follow", [mode] { *mode = "follow"; },
        "wait for the environment's running (or newest) backup job and show how it ends");
    auto* cancel_flag = cmd->add_flag_callback(
        "--cancel", [mode] { *mode = "cancel"; }, "cancel the environment's running backup job");
    detach->excludes(follow_flag)->excludes(cancel_flag);
    follow_flag->excludes(cancel_flag);
    cmd->callback([&action, o, quiet, mode] {
        action = [o, quiet, mode] {
            ApiClient client(o->flags);
            if (*mode == "cancel") {
                nlohmann::json answer =
                    client.post(backup_path(*o, "/cancel"), nlohmann::json::object());
                if (o->flags.json()) {
                    print_json(answer);
                } else {
                    std::cout << "cancelling backup job " << text(answer["job"]) << " of "
                              << o->environment << " for request #" << o->request << "\n";
                }
                return 0;
            }
            if (*mode == "follow") {
                nlohmann::json job = newest_job(client, *o);
                if (job.is_null()) {
                    throw Error(ErrorCode::not_found,
                                "request " + std::to_string(o->request) + " has no backup job on " +
                                    o->environment,
                                "start one with datafix backup " + std::to_string(o->request) +
                                    " " + o->environment);
                }
                return follow(*o, *quiet, job.value("job", 0));
            }
            nlohmann::json job = client.post(backup_path(*o), nlohmann::json::object());
            if (*mode == "detach") {
                if (o->flags.json()) {
                    print_json(job);
                } else {
                    std::cout << "backup job " << text(job["job"]) << " of " << o->environment
                              << " for request #" << o->request << " started\n"
                              << "  follow it: datafix backup " << o->request << " "
                              << o->environment << " --follow\n";
                }
                return 0;
            }
            return follow(*o, *quiet, job.value("job", 0));
        };
    });
}

}  // namespace datafix::cli
