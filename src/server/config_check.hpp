// `datafix server --check-config`: the configuration file is valid (it was loaded), the server's
// own files are usable, and every environment can be reached the way a step reaches it — the
// cluster client and its API (pod targets), the leader pod, the login, the leader, the pin and
// the role. Nothing is changed: no ledger is opened or migrated, no key is created, and the
// target sessions open no transaction.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "server/config.hpp"
#include "targetdb/guard_check.hpp"

namespace datafix::server {

struct CheckSection {
    std::string name;  // "server" or the environment's name
    std::vector<targetdb::GuardCheck> checks;
    bool ok() const;
};

// The server section first, then each environment in promotion order.
std::vector<CheckSection> check_configuration(const Config& config);

// A report for people: one line per check, the hint under each failure.
std::string describe(const std::vector<CheckSection>& sections);
nlohmann::json to_json(const std::vector<CheckSection>& sections);

// The first failed check's error code (ErrorCode::internal when none failed: ask ok() first).
ErrorCode first_failure(const std::vector<CheckSection>& sections);

}  // namespace datafix::server
