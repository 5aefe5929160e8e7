// Revert over the whole write closure, and its proof. Every restorable (not append-only) table's
// images are loaded into temporary tables with COPY (values never become SQL text); then, in
// foreign-key order, the rows the change inserted are deleted (children first), the rows it
// deleted are inserted again (parents first) and the rows it updated are set back. With
// `without_triggers` the restore runs under session_replication_role = replica, so no trigger
// or foreign-key action fires and the restore can be exact.
//
// A revert proves itself before it commits: for every restorable table, the rows at the change's
// keys must equal the before-images, and the revert's own changes (captured like a change's) must
// be exactly the inverse of the change's, so nothing else moved. Otherwise it throws
// Error(revert_inexact) naming the rows, the columns and what pre-flight said would interfere.
#pragma once

#include <string>
#include <vector>

#include "core/error.hpp"
#include "targetdb/evidence.hpp"
#include "targetdb/image_store.hpp"

namespace datafix::targetdb {

class Connection;

struct ClosureRestore {
    std::vector<std::string> conflicts;  // rows by key, at most a few per table
    long long conflict_count = 0;        // rows no longer as the change left them
};

// Loads the images (temporary tables, dropped at the end of the transaction) and counts
// conflicts; with `restore`, also restores.
ClosureRestore restore_closure(Connection& connection, ImageStore& images,
                               const std::vector<TableChanges>& applied, bool restore,
                               bool without_triggers);

// Error(revert_inexact): "<environment>: <what> (pre-flight said before the apply: <hazards>);
// rolled back", with what to do instead.
Error revert_inexact_error(const std::string& environment, const std::string& what,
                           const std::vector<std::string>& hazards);

// After restore_closure (either mode), in the same transaction: for each restorable table, the
// rows at the change's keys are exactly its before-images (all of them: true). `differences`
// gets up to a few rows and columns that are not, when given.
bool rows_equal_before_images(Connection& connection, ImageStore& images,
                              const std::vector<TableChanges>& applied,
                              std::vector<std::string>* differences = nullptr);

// After restore_closure(restore = true) and a capture of the revert's own changes over the same
// tables. `hazards` are the change's pre-flight revert hazards, quoted when the proof fails.
void prove_restored(Connection& connection, ImageStore& images,
                    const std::vector<TableChanges>& applied,
                    const std::vector<TableChanges>& reverted,
                    const std::vector<std::string>& hazards, const std::string& environment);

}  // namespace datafix::targetdb
