// Stable names of the ledger's own enumerations: stored in the ledger and shown in the API, so
// they never change once released.
#include <array>
#include <utility>

#include "ledger/ledger.hpp"
#include "model/enum_names.hpp"

namespace datafix::ledger {

namespace {
constexpr std::array<std::pair<BackupJobState, std::string_view>, 4> kBackupJobStates{{
    {BackupJobState::running, "running"},
    {BackupJobState::succeeded, "succeeded"},
    {BackupJobState::failed, "failed"},
    {BackupJobState::cancelled, "cancelled"},
}};
}  // namespace

std::string_view backup_job_state_name(BackupJobState state) {
    return model::name_in(kBackupJobStates, state);
}
std::optional<BackupJobState> parse_backup_job_state(std::string_view name) {
    return model::parse_in(kBackupJobStates, name);
}

}  // namespace datafix::ledger
