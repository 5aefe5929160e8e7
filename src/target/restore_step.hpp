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

#include "target/evidence.hpp"
#include "target/image_store.hpp"

namespace datafix::target {

class Connection;

struct RestoreResult {
    StatementEvidence evidence;          // before: current rows; after: restored rows
    std::vector<std::string> conflicts;  // rows by key
    long long conflict_count = 0;
};

// Loads the images and lists conflicts; with `restore`, also restores (inside the caller's
// transaction). The temporary tables go away at the end of the transaction.
RestoreResult restore_statement(Connection& connection, ImageStore& images,
                                const StatementEvidence& applied, bool restore);

}  // namespace datafix::target
