// The pg_dump method: the client binaries of the server's own major version, a custom-format
// archive of the written tables taken as the backup login with --role, verified before it is
// given its final name.
#include <libpq-fe.h>
#include <unistd.h>

#include <chrono>
#include <memory>

#include "backup/archive.hpp"
#include "backup/backup.hpp"
#include "backup/methods.hpp"
#include "core/error.hpp"
#include "core/fault.hpp"
#include "core/process.hpp"

namespace datafix::backup {

namespace {

// pg_dump gets the conninfo in argv, which every local user can read: a password there is refused
// before anything connects (the configuration refuses it too; this holds for every caller). The
// password is never quoted.
void refuse_password(const std::string& conninfo, const std::string& environment) {
    char* error = nullptr;
    std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(
        PQconninfoParse(conninfo.c_str(), &error), &PQconninfoFree);
    PQfreemem(error);
    if (!options) {
        return;  // not parsable: the connection below says why
    }
    for (const PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
        if (o->val != nullptr && std::string(o->keyword) == "password") {
            throw Error(ErrorCode::config,
                        "the backup conninfo of " + environment +
                            " holds a password, which pg_dump would show on its command line "
                            "to every local user",
                        "put the password in a passfile (passfile=/path, mode 0600) and leave it "
                        "out of the conninfo");
        }
    }
}

// server_version_num of the environment, as the backup login sees it.
int server_version_num(const std::string& conninfo, const std::string& environment) {
    std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(conninfo.c_str()), &PQfinish);
    if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
        std::string why = conn ? PQerrorMessage(conn.get()) : "out of memory";
        while (!why.empty() && why.back() == '\n') {
            why.pop_back();
        }
        throw Error(ErrorCode::unreachable,
                    "cannot connect to " + environment + " with the backup login: " + why,
                    "check backup.conninfo of " + environment + " (or the target's conninfo)");
    }
    return PQserverVersion(conn.get());
}

// "pg_dump (PostgreSQL) 15.18 (Debian ...)" -> 15; 0 when it cannot be read.
int binary_major(const std::string& path) {
    process::Spec spec;
    spec.argv = {path, "--version"};
    spec.environment = process::current_environment();
    process::Result r = process::run(spec);
    if (r.stage != process::Stage::ran || r.exit_status != 0) {
        return 0;
    }
    const std::string marker = "(PostgreSQL) ";
    auto at = r.out.find(marker);
    if (at == std::string::npos) {
        return 0;
    }
    try {
        return std::stoi(r.out.substr(at + marker.size()));
    } catch (const std::exception&) {
        return 0;
    }
}

std::string resolve_binary(const std::string& configured, const std::string& bin_root,
                           const std::string& program, int server_major,
                           const std::string& environment) {
    const std::string path = configured.empty()
                                 ? bin_root + "/" + std::to_string(server_major) + "/bin/" + program
                                 : configured;
    const std::string major = std::to_string(server_major);
    if (::access(path.c_str(), X_OK) != 0) {
        throw Error(
            ErrorCode::config,
            program + " for PostgreSQL " + major + " (the version " + environment +
                " runs) not found at " + path,
            "install postgresql-client-" + major + " or set the backup's " + program + "_path");
    }
    const int found = binary_major(path);
    if (found != server_major) {
        throw Error(ErrorCode::config,
                    program + " at " + path + " is " +
                        (found == 0 ? std::string("not a working PostgreSQL client")
                                    : "version " + std::to_string(found)) +
                        " but " + environment + " runs PostgreSQL " + major,
                    "use the " + program + " of PostgreSQL " + major +
                        " (install postgresql-client-" + major + ")");
    }
    return path;
}

// -t patterns are matched, not taken literally; double quotes make each name exact.
std::string table_pattern(const TableName& t) {
    auto quote = [](const std::string& name) {
        std::string out = "\"";
        for (char c : name) {
            out += c;
            if (c == '"') {
                out += '"';
            }
        }
        return out + "\"";
    };
    return quote(t.schema) + "." + quote(t.name);
}

}  // namespace

BackupResult take_pg_dump_backup(const BackupSettings& settings, const BackupRequest& request,
                                 const BackupControl& control, Time taken_at) {
    const PgDumpSettings& pd = settings.pg_dump;
    const std::string& env = settings.environment;
    if (request.tables.empty() && !pd.whole_database) {
        throw Error(ErrorCode::invalid_input,
                    "no tables to back up for request " + std::to_string(request.request_number),
                    "the change must name the tables it writes (or enable whole_database)");
    }
    require_directory(pd.directory, env);
    refuse_password(pd.conninfo, env);
    const auto started = std::chrono::steady_clock::now();
    const int version = server_version_num(pd.conninfo, env);
    const int major = version / 10000;
    const std::string pg_dump = resolve_binary(pd.pg_dump_path, pd.bin_root, "pg_dump", major, env);
    const std::string pg_restore =
        resolve_binary(pd.pg_restore_path, pd.bin_root, "pg_restore", major, env);

    const std::string final_path =
        pd.directory + "/" + archive_file_name(request.request_number, env, taken_at);
    const std::string partial = final_path + ".partial";

    std::vector<std::string> argv = {
        pg_dump, "--format=custom", "--no-password", "--dbname=" + pd.conninfo,
        "--lock-wait-timeout=" + std::to_string(pd.lock_wait_timeout.count())};
    if (!pd.role.empty()) {
        argv.push_back("--role=" + pd.role);
    }
    if (!pd.whole_database) {
        // Every pattern must match a table: a renamed table fails here, not at verification.
        argv.push_back("--strict-names");
        for (const auto& t : request.tables) {
            argv.push_back("--table=" + table_pattern(t));
        }
    }
    process::Spec spec;
    spec.argv = argv;
    spec.os_user = settings.os_user;
    spec.stdout_file = partial;
    spec.max_file_bytes = settings.max_bytes;
    // The operator's PG* settings (PGPASSFILE, PGSSLROOTCERT, ...); the conninfo holds no
    // password (the configuration refuses one).
    spec.environment = process::current_environment();
    process::Result r = process::run(spec, watch_for(control));
    check_child(r, "pg_dump", settings, partial, request.request_number);
    // The archive is written and not yet verified: its .partial file is all there is of it.
    fault_point("backup.dumped");

    BackupResult result;
    try {
        result.archived_tables = list_archive_tables(pg_restore, partial);
        require_tables(request.tables, result.archived_tables, final_path);
        FileDigest digest = digest_file(partial);
        publish_file(partial, final_path);
        result.size_bytes = digest.size_bytes;
        result.sha256 = digest.sha256;
    } catch (...) {
        remove_quietly(partial);
        throw;
    }
    result.environment = env;
    result.method = Method::pg_dump;
    result.verified = true;
    result.taken_at = taken_at;
    result.location = final_path;
    result.exit_status = r.exit_status;
    result.server_version = std::to_string(version);
    result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    return result;
}

}  // namespace datafix::backup
