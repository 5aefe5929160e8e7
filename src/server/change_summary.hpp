// What a run changes, in words people use: per table and column, "status submitted → withdrawn
// on 1 row (APP-0000017)", computed from every row of the run's sealed images (not only the rows
// a page shows). Rows are named by the table's display key ([display_keys] in datafix.toml), else
// by their key columns. Columns a trigger maintains (a BEFORE ROW trigger that fires assigns
// them, as the run's pre-flight found) and tables written only by triggers, foreign keys or rules
// are marked quiet: shown, but not as the change itself.
//
// The summary holds row values: it is for the request's people only, like the images it is made
// from (the images route requires membership), and never reaches logs or notifications.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "targetdb/evidence.hpp"
#include "targetdb/image_store.hpp"

namespace datafix::server {

// {tables: [{table, name, display_key, display_key_missing, key_columns, inserted, updated,
// deleted, quiet, quiet_columns, changes: [{column, quiet, from, to, rows, keys}], partial}],
// sentences: [{text, table, quiet}], rows}. `preflight`: the run's kept report (null: none).
nlohmann::json summarize_changes(const targetdb::ImageStore& store,
                                 const targetdb::Evidence& evidence,
                                 const nlohmann::json& preflight,
                                 const std::map<std::string, std::string>& display_keys);

// The columns that name a row of `table` in the views: the configured display key when it is
// one of `columns`, else the key columns.
std::vector<std::string> display_columns(const std::string& table,
                                         const std::vector<std::string>& columns,
                                         const std::vector<std::string>& key_columns,
                                         const std::map<std::string, std::string>& display_keys);

}  // namespace datafix::server
