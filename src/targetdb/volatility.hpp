// Which after-image columns of a change can hold other values at apply than in the preview, learned
// from what causes it rather than from a second rehearsal: the statement's own expressions, the
// column defaults and identities an INSERT falls back on, what BEFORE ROW triggers assign to NEW,
// and what the INSERTs and UPDATEs in trigger bodies and rules put into columns. A cause is a clock
// (now(), CURRENT_TIMESTAMP, ...), a sequence (nextval(), identity) or a random source
// (gen_random_uuid(), random()); calls to other functions are deterministic unless PostgreSQL
// declares them VOLATILE. What cannot be read (dynamic SQL, an unreadable body, a volatile
// application function) is named in `unknown`: the preview then rehearses a second time.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "targetdb/change_plan.hpp"
#include "targetdb/evidence.hpp"
#include "targetdb/preflight.hpp"

namespace datafix::targetdb {

class Connection;

struct VolatilityModel {
    std::map<std::string, std::vector<VolatileColumn>> tables;  // by schema.table
    std::vector<std::string> unknown;

    const std::vector<VolatileColumn>& of(const std::string& qualified) const;
};

// On a guarded connection (catalog reads only), for every table of the pre-flight's write closure.
VolatilityModel learn_volatility(Connection& connection, const PreflightReport& report,
                                 const ChangePlan& plan);

}  // namespace datafix::targetdb
