// Capture of every row a run changed in its write closure, without knowing who wrote it. The
// run's transaction T (REPEATABLE READ, its xid assigned) has written; then
//   after-images: the rows T sees whose xmin is T's xid or one of its subtransactions'
//                 (age(xmin) <= 0: nothing committed before T's snapshot has a later xid);
//   before-images: a second session imports T's exported snapshot, which cannot see T's work,
//                 and reads the rows whose xmax is set; those T can no longer see (by ctid) are
//                 the ones T updated or deleted. Rows only locked (foreign-key checks, FOR
//                 SHARE, multixacts) are still visible to T and drop out.
// No superuser, no DDL on the application's tables, no logical decoding; both sides stream
// through COPY into sealed image files, so memory stays flat.
// A table that one statement of the change writes and nothing else can (no trigger, cascade,
// rule or function reaches it) needs no scan: the rows that statement's own capture read in the
// same transaction (its DELETE's or UPDATE's before-images, its INSERT's or UPDATE's RETURNING
// after-images) are exactly the rows T changed there, when their counts agree with the
// statement's row count (a BEFORE trigger that skips a row makes them disagree).
#pragma once

#include <string>
#include <vector>

#include "targetdb/evidence.hpp"
#include "targetdb/image_store.hpp"
#include "targetdb/preflight.hpp"

namespace datafix::targetdb {

class Connection;

struct ClosureTable {
    std::string schema;
    std::string table;
    std::vector<std::string> causes;
    bool append_only = false;
    // Count the rows the run added, keep no images: for an append-only table at apply, whose
    // rows the pair saw in the preview and which stay in the table once committed.
    bool count_only = false;
    // The after-images' volatile columns when known before the capture (the preview's model,
    // the approved evidence at apply): their masked digest is streamed while they are copied.
    std::vector<VolatileColumn> volatility;
    // The one statement that writes this table alone (see above): its images are the table's.
    // Null: the table is scanned.
    const StatementEvidence* written_alone = nullptr;
};

// The tables of the pre-flight's write closure that exist.
std::vector<ClosureTable> closure_tables(const PreflightReport& report);

// In `run` (inside T, after its writes) and `observer` (a guarded session on the same database,
// not in a transaction): every row T changed in `tables`. Tables without a change are left out.
// `label` prefixes the image files ("c" for a change, "r" for a revert).
std::vector<TableChanges> capture_changes(Connection& run, Connection& observer, ImageStore& images,
                                          const std::vector<ClosureTable>& tables,
                                          const std::string& label);

// The order of two rows' keys as TableInfo::key_order sorts them: numeric when `numeric` (every key
// column an integer), else bytewise on the decoded text, field by field. <0, 0, >0.
int compare_keys(const std::vector<std::size_t>& key_positions, std::string_view a,
                 std::string_view b, bool numeric);

}  // namespace datafix::targetdb
