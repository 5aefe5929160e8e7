// Private to the sql layer: which functions a statement may call. PostgreSQL's own functions
// (pg_catalog, named with or without the schema) only from the reviewed allowlist in
// sql/allowed_functions.inc; functions of other system schemas never; functions of the
// application's schemas unless their name is known to be dangerous (function_denylist.hpp).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace datafix::sql::internal {

// Where a call stands: sequence functions are allowed only where an INSERT draws a key.
enum class CallSite { insert_in_change, other };

// Why a call to schema.name (schema empty when unqualified) is refused, as "calls name(), which
// ...", or nothing when it is allowed.
std::optional<std::string> refused_call(std::string_view schema, std::string_view name,
                                        CallSite site);

// How many names the allowlist holds, and the names themselves, sorted (for the tests that check
// the list against a real PostgreSQL's catalog).
std::size_t allowed_function_count();
std::vector<std::string> allowed_function_names();

}  // namespace datafix::sql::internal
