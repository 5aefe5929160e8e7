// take_backup(): picks the method, and the failure handling both methods share.
#include "backup/backup.hpp"

#include <filesystem>

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "backup/archive.hpp"
#include "backup/methods.hpp"
#include "core/error.hpp"

namespace datafix::backup {

std::string_view method_name(Method method) {
    switch (method) {
        case Method::pg_dump:
            return "pg_dump";
        case Method::command:
            return "command";
    }
    return "pg_dump";
}

std::optional<Method> parse_method(std::string_view name) {
    if (name == "pg_dump") {
        return Method::pg_dump;
    }
    if (name == "command") {
        return Method::command;
    }
    return std::nullopt;
}

void require_directory(const std::string& directory, const std::string& environment) {
    struct stat st {};
    if (directory.empty()) {
        throw Error(ErrorCode::config, "no backup directory is configured for " + environment,
                    "set backup.directory for the environment");
    }
    if (::stat(directory.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        throw Error(ErrorCode::config,
                    "backup directory " + directory + " of " + environment + " does not exist",
                    "create it (mode 0700, owned by the backup's OS user) or fix backup.directory");
    }
}

process::Watch watch_for(const BackupControl& control) {
    process::Watch watch;
    watch.interval = control.progress_interval;
    watch.cancel = control.cancel;
    if (control.on_progress) {
        watch.on_progress = [&control](std::uint64_t bytes, std::chrono::milliseconds elapsed) {
            control.on_progress(Progress{bytes, elapsed});
        };
    }
    return watch;
}

namespace {

bool mentions_full_disk(const std::string& text) {
    return text.find("No space left on device") != std::string::npos ||
           text.find("File too large") != std::string::npos;
}

std::string last_lines(const std::string& text, std::size_t max_chars = 600) {
    std::string t = text;
    while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) {
        t.pop_back();
    }
    return t.size() > max_chars ? "..." + t.substr(t.size() - max_chars) : t;
}

std::string as_user_text(const BackupSettings& settings) {
    return settings.os_user.empty() ? "datafix's OS user" : "OS user " + settings.os_user;
}

}  // namespace

void check_child(const process::Result& r, const std::string& what, const BackupSettings& settings,
                 const std::string& partial, std::int64_t request_number) {
    const std::string env = settings.environment;
    switch (r.stage) {
        case process::Stage::ran:
            break;
        case process::Stage::user_switch:
            remove_quietly(partial);
            throw Error(ErrorCode::config,
                        "cannot run " + what + " as " + as_user_text(settings) + ": " +
                            std::strerror(r.setup_errno),
                        "check the backup's os_user setting");
        case process::Stage::create_file:
            // Not ours to remove: O_EXCL failed or nothing was created.
            if (r.setup_errno == ENOSPC || r.setup_errno == EDQUOT) {
                throw Error(ErrorCode::database,
                            "no space left to create the backup file " + partial,
                            "free space in the backup directory of " + env + " and try again");
            }
            if (r.setup_errno == EEXIST) {
                throw Error(ErrorCode::config, "backup file " + partial + " already exists",
                            "remove the leftover file, then take the backup again");
            }
            throw Error(ErrorCode::config,
                        "backup directory of " + env + " is not writable by " +
                            as_user_text(settings) + ": cannot create " + partial + ": " +
                            std::strerror(r.setup_errno),
                        "give " + as_user_text(settings) +
                            " write access to the directory, or configure another one");
        case process::Stage::exec:
            remove_quietly(partial);
            throw Error(ErrorCode::config,
                        "cannot start " + what + " (" + std::strerror(r.setup_errno) + ")",
                        "check the configured path of " + what + " for " + env);
    }
    if (r.cancelled) {
        remove_quietly(partial);
        throw Error(ErrorCode::rule,
                    "backup of " + env + " for request " + std::to_string(request_number) +
                        " was cancelled; the partial file was removed",
                    "take the backup again before applying to " + env);
    }
    if (r.timed_out) {
        remove_quietly(partial);
        throw Error(ErrorCode::database, what + " for " + env + " did not finish in time",
                    "raise the backup timeout or check what it waits for");
    }
    if (r.exit_status == 0) {
        return;
    }
    remove_quietly(partial);
    const std::string output = last_lines(r.err.empty() ? r.out : r.err + r.out);
    if (mentions_full_disk(output)) {
        throw Error(ErrorCode::database,
                    "the backup of " + env + " ran out of disk space (" + output +
                        "); the partial file was removed",
                    "free space in the backup directory (or raise the size limit) and take the "
                    "backup again");
    }
    if (output.find("row-level security") != std::string::npos) {
        throw Error(ErrorCode::database,
                    what + " for " + env + " could not read every row: " + output,
                    "a backup must not be filtered by row-level security: use a backup login "
                    "(and role) with BYPASSRLS and SELECT on the tables, e.g. member of "
                    "pg_read_all_data");
    }
    throw Error(ErrorCode::database,
                what + " for " + env + " failed with exit status " + std::to_string(r.exit_status) +
                    ": " + output,
                "fix the cause shown above and take the backup again; no backup was recorded");
}

BackupResult take_backup(const BackupSettings& settings, const BackupRequest& request,
                         const BackupControl& control) {
    const Time taken_at = control.clock ? control.clock()
                                        : std::chrono::time_point_cast<std::chrono::milliseconds>(
                                              std::chrono::system_clock::now());
    if (settings.method == Method::command) {
        return take_command_backup(settings, request, control, taken_at);
    }
    return take_pg_dump_backup(settings, request, control, taken_at);
}

std::vector<std::string> remove_partial_backups(const BackupSettings& settings) {
    std::vector<std::string> removed;
    if (settings.method != Method::pg_dump || settings.pg_dump.directory.empty()) {
        return removed;
    }
    std::error_code ec;
    std::filesystem::directory_iterator it(settings.pg_dump.directory, ec);
    if (ec) {
        return removed;
    }
    for (const auto& entry : it) {
        const std::string name = entry.path().filename().string();
        const std::string_view suffix = ".dump.partial";
        bool ours = name.rfind("request-", 0) == 0 && name.size() > suffix.size() &&
                    name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
        if (ours && entry.is_regular_file(ec)) {
            std::filesystem::remove(entry.path(), ec);
            if (!ec) {
                removed.push_back(name);
            }
        }
    }
    return removed;
}

}  // namespace datafix::backup
