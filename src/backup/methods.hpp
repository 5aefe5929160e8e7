// The two backup methods behind take_backup(), and the failure handling they share. Internal to
// the backup layer.
#pragma once

#include <string>

#include "backup/backup.hpp"
#include "core/process.hpp"

namespace datafix::backup {

BackupResult take_pg_dump_backup(const BackupSettings& settings, const BackupRequest& request,
                                 const BackupControl& control, Time taken_at);
BackupResult take_command_backup(const BackupSettings& settings, const BackupRequest& request,
                                 const BackupControl& control, Time taken_at);

// The directory exists and is a directory (Error config otherwise).
void require_directory(const std::string& directory, const std::string& environment);

// Maps a child that did not succeed to an Error (and removes `partial`); returns when it did.
// `what` names the program in messages ("pg_dump", "the backup command").
void check_child(const process::Result& result, const std::string& what,
                 const BackupSettings& settings, const std::string& partial,
                 std::int64_t request_number);

process::Watch watch_for(const BackupControl& control);

}  // namespace datafix::backup
