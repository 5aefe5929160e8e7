// Private to the sql layer: the column values of the INSERTs and UPDATEs in an already parsed JSON
// tree (column_sources.cpp), for readers that hold the tree (function bodies, rules) and so need
// not parse the text again.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "sql/column_sources.hpp"

namespace datafix::sql::internal {

std::vector<TableWrite> table_writes_in(const nlohmann::json& tree);

}  // namespace datafix::sql::internal
