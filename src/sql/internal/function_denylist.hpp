// Private to the sql layer: names of functions known to be dangerous and why. It decides for
// functions of the application's and extensions' schemas; PostgreSQL's own functions are decided by
// the allowlist (function_policy.hpp), which uses this list only to word a refusal.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace datafix::sql::internal {

// Why a call to schema.name (schema may be empty) is dangerous, or nothing when the name is not
// known to be. Matching ignores case, and the schema except for extensions (cron, net) whose every
// function acts outside the transaction.
std::optional<std::string> denied_function(std::string_view schema, std::string_view name);

}  // namespace datafix::sql::internal
