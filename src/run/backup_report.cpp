// Stable names of a backup job's statuses and events: clients and watchers act on them.
#include "run/backup_report.hpp"

namespace datafix::run {

std::string_view backup_status_name(BackupStatus status) {
    switch (status) {
        case BackupStatus::started:
            return "started";
        case BackupStatus::already_running:
            return "already_running";
        case BackupStatus::stopping:
            return "stopping";
        case BackupStatus::cancelling:
            return "cancelling";
        case BackupStatus::not_running:
            return "not_running";
    }
    return "unknown";
}

std::string_view backup_event_name(BackupEventKind kind) {
    switch (kind) {
        case BackupEventKind::started:
            return "backup.started";
        case BackupEventKind::progress:
            return "backup.progress";
        case BackupEventKind::finished:
            return "backup.finished";
        case BackupEventKind::failed:
            return "backup.failed";
    }
    return "backup.unknown";
}

}  // namespace datafix::run
