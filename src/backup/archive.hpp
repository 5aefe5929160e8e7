// Verification of a written archive and the files around it: the table of contents as
// pg_restore reads it, size and SHA-256, durable rename. Internal to the backup layer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backup/backup.hpp"

namespace datafix::backup {

struct FileDigest {
    std::int64_t size_bytes = 0;
    std::string sha256;
};

FileDigest digest_file(const std::string& path);

// fsync of the file, rename, fsync of the directory: after this the archive survives a crash.
void publish_file(const std::string& partial, const std::string& final_path);

// Removes `path` if it exists; never throws (used on every failure path).
void remove_quietly(const std::string& path) noexcept;

// Throws Error(database) naming the first written table missing from `archived`.
void require_tables(const std::vector<TableName>& written, const std::vector<TableName>& archived,
                    const std::string& path);

std::string qualified(const TableName& table);

}  // namespace datafix::backup
