// Evidence: what a preview (or an apply, or a revert) saw. The pair approves it; apply commits
// only when it sees the same keys and before-images. Row images live in sealed files (see
// image_store.hpp); the evidence holds their paths, counts and digests.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "target/change_plan.hpp"

namespace datafix::target {

// One sealed file of row images: one record per row, the row in PostgreSQL's COPY text format
// (tab-separated, \N for NULL), sorted by key.
struct ImageFile {
    std::string path;
    long long rows = 0;
    std::string digest;       // sha256 over the records, in order
    std::string keys_digest;  // sha256 over the key fields of the records, in order
};

struct StatementEvidence {
    int index = 0;
    StatementKind kind = StatementKind::update;
    std::string schema;
    std::string table;
    std::vector<std::string> columns;      // in image order
    std::vector<std::string> key_columns;  // primary key, else a unique not-null key
    std::optional<long long> expected_rows;
    long long actual_rows = 0;
    ImageFile before;  // rows as they were, for every key the statement updated or deleted
    ImageFile after;   // rows as they are after the statement, for every key inserted or updated
    // Columns whose after-values differed between two rehearsals (now(), identity values, ...);
    // apply tolerates differences there and only there.
    std::vector<std::string> volatile_columns;
    // Tables written by something other than the statement: triggers, cascading foreign keys.
    std::vector<std::string> indirect_writes;
};

// Every row a run changed in one table of the change's write closure (the statement's own table
// included): found through the row versions the run's transaction created and ended, so rows
// written by triggers, cascades and rules are in it as much as the statement's own.
struct TableChanges {
    std::string schema;
    std::string table;
    std::vector<std::string> columns;      // in image order
    std::vector<std::string> key_columns;  // primary key, else a unique not-null key
    // What writes it: "statement 1", "trigger _500_audit on app_public.application", ...
    std::vector<std::string> causes;
    bool append_only = false;  // shown, never reverted
    // Only counted (an append-only table at apply): no images, `inserted` rows were added.
    bool count_only = false;
    long long inserted = 0;
    long long updated = 0;
    long long deleted = 0;
    // Both sorted by the key's text, bytewise. before: every updated or deleted row as it was;
    // after: every inserted or updated row as the run left it.
    ImageFile before;
    ImageFile after;

    std::string qualified() const { return schema + "." + table; }
    long long changed() const { return inserted + updated + deleted; }
};

struct VerifyResult {
    int index = 0;
    std::vector<std::string> columns;
    std::vector<std::vector<std::optional<std::string>>> rows;
    bool truncated = false;  // more rows than kMaxVerifyRows
};

enum class RunKind { change, revert };

struct Evidence {
    RunKind kind = RunKind::change;
    std::string plan_sha256;
    std::string environment;
    std::string system_identifier;
    std::vector<StatementEvidence> statements;
    std::vector<VerifyResult> verify;
    // Conflicts a revert preview found (keys as text); empty for a change.
    std::vector<std::string> conflicts;
    // Every table of the write closure, with every row the run changed there; false (and empty)
    // in evidence recorded before datafix captured the closure.
    bool closure_captured = false;
    std::vector<TableChanges> closure;
    // From the pre-flight: why a revert of this change could not be exact (empty: it can be).
    std::vector<std::string> revert_hazards;
    // The session logged in as a superuser (allow_superuser_login): the pair sees it.
    bool superuser_login = false;
    // sha256 over every statement's counts, keys and before-images: what an approval names.
    std::string fingerprint;
};

constexpr std::size_t kMaxVerifyRows = 1000;

}  // namespace datafix::target
