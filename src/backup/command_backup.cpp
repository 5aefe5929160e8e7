// The command method: a configured program (for example one that starts an on-demand
// pgBackRest job) run without a shell, its placeholders filled in per argument, its exit status
// and output recorded. When it writes a pg_dump archive to {output}, that archive is verified
// like the pg_dump method's.
#include <chrono>
#include <map>

#include "backup/archive.hpp"
#include "backup/backup.hpp"
#include "backup/methods.hpp"
#include "core/error.hpp"
#include "core/hash.hpp"
#include "core/process.hpp"

namespace datafix::backup {

namespace {

std::string fill_placeholders(const std::string& arg,
                              const std::map<std::string, std::string>& values,
                              const std::string& environment) {
    std::string out;
    std::size_t i = 0;
    while (i < arg.size()) {
        if (arg[i] != '{') {
            out += arg[i++];
            continue;
        }
        auto close = arg.find('}', i);
        if (close == std::string::npos) {
            throw Error(ErrorCode::config,
                        "unterminated placeholder in backup command of " + environment + ": " + arg,
                        "placeholders are {request}, {environment}, {output}, {timestamp}, "
                        "{tables}");
        }
        const std::string name = arg.substr(i + 1, close - i - 1);
        auto found = values.find(name);
        if (found == values.end()) {
            throw Error(ErrorCode::config,
                        "unknown placeholder {" + name + "} in backup command of " + environment,
                        "placeholders are {request}, {environment}, {output}, {timestamp}, "
                        "{tables}");
        }
        out += found->second;
        i = close + 1;
    }
    return out;
}

// The reference a command prints last (e.g. a pgBackRest backup label).
std::string last_line(const std::string& text) {
    std::string t = text;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) {
        t.pop_back();
    }
    auto nl = t.rfind('\n');
    return nl == std::string::npos ? t : t.substr(nl + 1);
}

std::string iso_timestamp(Time t) {
    // The archive name carries the same instant; reuse its stamp.
    std::string name = archive_file_name(0, "x", t);
    auto start = name.find("-x-") + 3;
    return name.substr(start, name.size() - start - 5);
}

}  // namespace

BackupResult take_command_backup(const BackupSettings& settings, const BackupRequest& request,
                                 const BackupControl& control, Time taken_at) {
    const CommandSettings& cmd = settings.command;
    const std::string& env = settings.environment;
    if (cmd.argv.empty() || cmd.argv.front().empty() || cmd.argv.front()[0] != '/') {
        throw Error(ErrorCode::config,
                    "the backup command of " + env + " must start with an absolute program path",
                    R"(set backup.command to e.g. ["/usr/local/bin/backup-now", "{output}"])");
    }
    std::string partial;
    std::string final_path;
    if (cmd.writes_archive) {
        require_directory(cmd.directory, env);
        final_path = cmd.directory + "/" + archive_file_name(request.request_number, env, taken_at);
        partial = final_path + ".partial";
    }
    std::string tables;
    for (const auto& t : request.tables) {
        tables += (tables.empty() ? "" : ",") + qualified(t);
    }
    const std::map<std::string, std::string> values = {
        {"request", std::to_string(request.request_number)},
        {"environment", env},
        {"output", partial},
        {"timestamp", iso_timestamp(taken_at)},
        {"tables", tables},
    };
    process::Spec spec;
    for (const auto& arg : cmd.argv) {
        spec.argv.push_back(fill_placeholders(arg, values, env));
    }
    spec.os_user = settings.os_user;
    spec.max_file_bytes = settings.max_bytes;
    spec.deadline = cmd.timeout;
    spec.environment = process::current_environment();
    process::Watch watch = watch_for(control);
    watch.watched_file = partial;

    const auto started = std::chrono::steady_clock::now();
    process::Result r = process::run(spec, watch);
    check_child(r, "the backup command", settings, partial, request.request_number);

    BackupResult result;
    result.environment = env;
    result.method = Method::command;
    result.taken_at = taken_at;
    result.exit_status = r.exit_status;
    result.output = r.out + r.err;
    if (cmd.writes_archive) {
        try {
            result.archived_tables = list_archive_tables(cmd.pg_restore_path, partial);
            require_tables(request.tables, result.archived_tables, final_path);
            FileDigest digest = digest_file(partial);
            publish_file(partial, final_path);
            result.size_bytes = digest.size_bytes;
            result.sha256 = digest.sha256;
        } catch (const Error& e) {
            remove_quietly(partial);
            throw Error(e.code(), "the backup command of " + env + " exited 0 but " + e.message(),
                        e.hint());
        }
        result.location = final_path;
    } else {
        result.location = last_line(r.out);
        if (result.location.empty()) {
            result.location = "command " + cmd.argv.front() + " (exit 0)";
        }
        result.sha256 = sha256_hex(result.output);
    }
    result.verified = true;
    result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    return result;
}

}  // namespace datafix::backup
