// Private to the sql layer: functions a change or verify query may not call, anywhere in its tree.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace datafix::sql::internal {

// Why a call to schema.name (schema may be empty) is refused, or nothing when it is allowed.
// Matching ignores case and the schema, so pg_catalog.set_config is caught like set_config.
std::optional<std::string> denied_function(std::string_view schema, std::string_view name);

}  // namespace datafix::sql::internal
