// Evidence: what a preview (or an apply, or a revert) saw. The pair approves it; apply commits
// only when it sees the same keys and before-images. Row images live in sealed files (see
// image_store.hpp); the evidence holds their paths, counts and digests.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "targetdb/change_plan.hpp"

namespace datafix::targetdb {

// One sealed file of row images: one record per row, the row in PostgreSQL's COPY text format
// (tab-separated, \N for NULL), sorted by key.
struct ImageFile {
    std::string path;
    long long rows = 0;
    std::string digest;       // sha256 over the records, in order
    std::string keys_digest;  // sha256 over the key fields of the records, in order
};

// Why an after-image column may hold another value at apply than in the approved preview, and
// so how apply compares it (target/volatility.hpp learns it from the causes).
enum class VolatilityClass {
    clock,     // a clock reading (now(), a default or trigger): a time within the apply's window
    sequence,  // nextval() or an identity: a value the named sequence handed out during the apply
    random,    // gen_random_uuid(), random(): any value
    observed,  // no cause known; it differed between two rehearsals: any value (the pair is told)
};

struct VolatileColumn {
    std::string column;
    VolatilityClass volatility = VolatilityClass::observed;
    std::string type;      // clock: the column's type ("timestamp with time zone", "date", ...)
    std::string sequence;  // sequence: schema-qualified, as regclass prints it
    std::string cause;     // "default now()", "trigger stamp sets it from now()", "statement 1"
    bool operator==(const VolatileColumn&) const = default;
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
    // The same columns with the class they are compared by; and sha256 over the after-images with
    // those columns masked (sorted row digests where a key column is volatile): what the approval
    // covers of the after-images. Empty in evidence from before after-images were approved.
    std::vector<VolatileColumn> volatility;
    std::string after_masked;
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
    // As in StatementEvidence: volatile columns by class, and the masked after-images' digest.
    std::vector<VolatileColumn> volatility;
    std::string after_masked;

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
    // The approval covers after-images (after_masked and volatility above): evidence recorded
    // before it did keeps its fingerprint and the old comparison.
    bool after_approved = false;
    // Why the volatility of some after-image column could not be learned from its causes
    // (dynamic SQL, a volatile application function): the preview then rehearsed a second time
    // and compares the columns that differed as `observed`.
    std::vector<std::string> volatility_unknown;
    // sha256 over every statement's counts, keys, before-images and masked after-images: what an
    // approval names.
    std::string fingerprint;
};

constexpr std::size_t kMaxVerifyRows = 1000;

}  // namespace datafix::targetdb
