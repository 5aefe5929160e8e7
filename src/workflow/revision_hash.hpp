// The SHA-256 that names a revision: over the exact change text, the exact verify text, the
// expected row count of each statement and the all-rows declaration. Every approval names it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "model/request_state.hpp"

namespace datafix::workflow {

std::string revision_hash(std::string_view change_sql, std::string_view verify_sql,
                          const std::vector<model::StatementInfo>& statements, bool all_rows);

}  // namespace datafix::workflow
