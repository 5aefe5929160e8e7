// One step of a revert: put back what one applied statement changed, from its images. The images
// are loaded into temporary tables with COPY (values never become SQL text), and set-based
// statements compare and restore:
//   keys in before and after  -> UPDATE back to the before-image
//   keys only in before       -> re-INSERT the before-image (the statement deleted them)
//   keys only in after        -> DELETE (the statement inserted them)
// A row whose current value is not its after-image (or a deleted row that exists again) is a
// conflict.
#pragma once

#include <string>
#include <vector>

#include "targetdb/evidence.hpp"
#include "targetdb/image_store.hpp"
#include "targetdb/table_info.hpp"

namespace datafix::targetdb {

class Connection;

// One table's images loaded into two temporary tables (dropped at the end of the transaction):
// `before_t` the rows as they were, `after_t` as the change left them.
struct LoadedImages {
    TableInfo table;
    std::string before_t;
    std::string after_t;
};

// Throws Error(conflict) when the table's columns or key changed since the images were taken.
LoadedImages load_images(Connection& connection, const ImageStore& images,
                         const std::string& schema, const std::string& table,
                         const std::vector<std::string>& columns,
                         const std::vector<std::string>& key_columns, const ImageFile& before,
                         const ImageFile& after, const std::string& suffix);

// Rows that are no longer as the change left them (an after-image not current, a deleted row
// back): how many, and up to `limit` of them by key ("schema.table (id)=(12)").
struct Conflicts {
    long long count = 0;
    std::vector<std::string> listed;
};
Conflicts find_conflicts(Connection& connection, const LoadedImages& loaded, std::size_t limit);

// "EXISTS (SELECT 1 FROM <temp> x WHERE <key join of x and alias>)".
std::string key_in(const TableInfo& table, const std::string& temp, const std::string& alias);

struct RestoreResult {
    StatementEvidence evidence;          // before: current rows; after: restored rows
    std::vector<std::string> conflicts;  // rows by key
    long long conflict_count = 0;
};

// Loads the images and lists conflicts; with `restore`, also restores (inside the caller's
// transaction). The temporary tables go away at the end of the transaction.
RestoreResult restore_statement(Connection& connection, ImageStore& images,
                                const StatementEvidence& applied, bool restore);

}  // namespace datafix::targetdb
