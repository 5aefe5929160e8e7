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
    // sha256 over every statement's counts, keys and before-images: what an approval names.
    std::string fingerprint;
};

constexpr std::size_t kMaxVerifyRows = 1000;

}  // namespace datafix::target
