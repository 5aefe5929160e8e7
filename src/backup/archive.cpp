// What makes a file a backup: pg_restore --list reads it and its TOC has the data of every
// table the change writes. Size and SHA-256 go to the ledger so a later swap is noticed.
#include "backup/archive.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "core/hash.hpp"
#include "core/process.hpp"

namespace datafix::backup {

std::string qualified(const TableName& table) {
    return table.schema + "." + table.name;
}

std::vector<TableName> list_archive_tables(const std::string& pg_restore, const std::string& path) {
    process::Spec spec;
    spec.argv = {pg_restore, "--list", path};
    spec.environment = process::current_environment();
    // A TOC of thousands of tables is a few hundred KiB; all of it is needed.
    spec.max_output_bytes = 16 * 1024 * 1024;
    process::Result r = process::run(spec);
    if (r.stage != process::Stage::ran) {
        throw Error(ErrorCode::config,
                    "cannot run pg_restore at " + pg_restore + ": " + std::strerror(r.setup_errno),
                    "install the PostgreSQL client of the server's major version");
    }
    if (r.exit_status != 0 || r.out_truncated) {
        throw Error(ErrorCode::database,
                    "pg_restore cannot read the archive " + path + ": " +
                        (r.out_truncated ? "its table of contents is over 16 MiB" : r.err),
                    "the file is not a complete pg_dump custom archive; take the backup again");
    }
    // A TOC line: "3345; 0 16390 TABLE DATA app_public application app_owner". Names are
    // printed unquoted, so a name with a space would not parse; such tables are reported missing
    // and the backup refused rather than wrongly verified.
    std::vector<TableName> tables;
    std::istringstream lines(r.out);
    std::string line;
    const std::string marker = " TABLE DATA ";
    while (std::getline(lines, line)) {
        if (line.empty() || line[0] == ';') {
            continue;
        }
        auto at = line.find(marker);
        if (at == std::string::npos) {
            continue;
        }
        std::istringstream fields(line.substr(at + marker.size()));
        TableName t;
        std::string owner;
        if (fields >> t.schema >> t.name >> owner) {
            tables.push_back(t);
        }
    }
    return tables;
}

void require_tables(const std::vector<TableName>& written, const std::vector<TableName>& archived,
                    const std::string& path) {
    for (const auto& w : written) {
        bool found = false;
        for (const auto& a : archived) {
            if (a.schema == w.schema && a.name == w.name) {
                found = true;
                break;
            }
        }
        if (!found) {
            throw Error(ErrorCode::database,
                        "backup archive " + path + " has no data for " + qualified(w),
                        "check that the backup login can read " + qualified(w) +
                            " and take the backup again");
        }
    }
}

FileDigest digest_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Error(ErrorCode::database, "cannot read backup archive " + path,
                    "check the backup directory's permissions");
    }
    Sha256 hash;
    FileDigest d;
    std::string buffer(1 << 16, '\0');
    while (in) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        std::streamsize n = in.gcount();
        if (n > 0) {
            hash.update(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
            d.size_bytes += n;
        }
    }
    d.sha256 = hash.hex_digest();
    return d;
}

namespace {

void fsync_path(const std::string& path, int flags) {
    int fd = ::open(path.c_str(), flags | O_CLOEXEC);
    if (fd < 0) {
        throw Error(ErrorCode::database, "cannot open " + path + ": " + std::strerror(errno));
    }
    int rc = ::fsync(fd);
    int saved = errno;
    ::close(fd);
    if (rc != 0) {
        throw Error(ErrorCode::database,
                    "cannot flush " + path + " to disk: " + std::strerror(saved),
                    "check the backup disk (full, or failing) and take the backup again");
    }
}

std::string parent_dir(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos) {
        return ".";
    }
    return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

void publish_file(const std::string& partial, const std::string& final_path) {
    fsync_path(partial, O_RDONLY);
    if (::rename(partial.c_str(), final_path.c_str()) != 0) {
        throw Error(ErrorCode::database,
                    "cannot rename " + partial + " to " + final_path + ": " + std::strerror(errno));
    }
    fsync_path(parent_dir(final_path), O_RDONLY | O_DIRECTORY);
}

void remove_quietly(const std::string& path) noexcept {
    if (!path.empty()) {
        ::unlink(path.c_str());
    }
}

std::string archive_file_name(std::int64_t request_number, const std::string& environment,
                              Time taken_at) {
    std::string env;
    for (char c : environment) {
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '_';
        env += plain ? c : '_';
    }
    const auto ms = taken_at.time_since_epoch().count();
    auto secs = static_cast<std::time_t>(ms / 1000);
    std::tm utc{};
    ::gmtime_r(&secs, &utc);
    char stamp[64];
    std::snprintf(stamp, sizeof stamp, "%04d%02d%02dT%02d%02d%02d%03dZ", utc.tm_year + 1900,
                  utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                  static_cast<int>(ms % 1000));
    return "request-" + std::to_string(request_number) + "-" + env + "-" + stamp + ".dump";
}

}  // namespace datafix::backup
