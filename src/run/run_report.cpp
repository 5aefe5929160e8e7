// Stable names of a run's statuses: the API shows them and clients act on them.
#include "run/run_report.hpp"

namespace datafix::run {

std::string_view run_status_name(RunStatus status) {
    switch (status) {
        case RunStatus::previewed:
            return "previewed";
        case RunStatus::committed:
            return "committed";
        case RunStatus::not_committed:
            return "not_committed";
        case RunStatus::in_doubt:
            return "in_doubt";
        case RunStatus::rolled_back:
            return "rolled_back";
        case RunStatus::open:
            return "open";
        case RunStatus::approved:
            return "approved";
    }
    return "unknown";
}

}  // namespace datafix::run
