// Comparing what a run sees with what was approved, and learning which after-image columns are
// volatile. Images are compared by streaming both files; only a mismatch loads keys into memory
// (to name the rows that differ).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "targetdb/evidence.hpp"
#include "targetdb/image_store.hpp"

namespace datafix::targetdb {

// Names of columns whose values differ between two rehearsals' after-images (aligned by row
// position: both are sorted by key). Different row counts make every column volatile.
std::vector<std::string> find_volatile_columns(const ImageStore& images,
                                               const StatementEvidence& first,
                                               const StatementEvidence& second);

// The same for two after-images of a table with `columns` (a closure table's).
std::vector<std::string> find_volatile_columns(const ImageStore& images, const ImageFile& first,
                                               const ImageFile& second,
                                               const std::vector<std::string>& columns);

// sha256 over an after-image with the `volatility` columns masked by their class (and whether
// they are NULL). Rows stay in key order unless a key column is volatile (an identity, a random
// uuid): the digest is then over the sorted digests of the masked rows, so rows pair by content.
// With no volatile column it is the image's own digest. The digest streamed while the image was
// written (ImageWriter::mask) answers when it was streamed for these columns and classes;
// otherwise the image is read again.
std::string masked_after_digest(const ImageStore& images, const ImageFile& after,
                                const std::vector<std::string>& columns,
                                const std::vector<std::string>& key_columns,
                                const std::vector<VolatileColumn>& volatility);
// The same, always by reading the sealed image again.
std::string reread_masked_after_digest(const ImageStore& images, const ImageFile& after,
                                       const std::vector<std::string>& columns,
                                       const std::vector<std::string>& key_columns,
                                       const std::vector<VolatileColumn>& volatility);

// The values a run gave its clock- and sequence-class columns, gathered while comparing, for the
// session to check in the run's own transaction: a time within the run's window, a value the
// sequence handed out during the run.
struct VolatileValues {
    struct Clock {
        std::string type;
        std::set<std::string> values;
    };
    struct Drawn {
        std::string sequence;
        std::set<std::string> values;
    };
    std::map<std::string, Clock> clock;  // by "schema.table.column"
    std::map<std::string, Drawn> drawn;  // by "schema.table.column"
    std::set<std::string> sequences() const;
};

// Throws Error(count_mismatch) naming the differing rows (by key) when `seen` does not match
// `approved`: counts, keys, before-images, after-images outside the volatile columns. Evidence
// whose approval covers after-images (after_masked) is compared by masked digest, and the values
// of its clock and sequence columns go into `values`. `after_earlier_statements`: an earlier
// statement of the change ran in the same transaction, so the before-images may hold what it
// wrote; they are then compared with the approved volatile columns masked (a timestamp an earlier
// statement's trigger set differs at every run), like after-images.
void require_same_as_approved(const ImageStore& images, const StatementEvidence& seen,
                              const StatementEvidence& approved, const std::string& environment,
                              VolatileValues* values = nullptr,
                              bool after_earlier_statements = false);

// Throws Error(count_mismatch) with both numbers when a declared count was not met.
void require_declared_count(const StatementEvidence& seen, const std::string& environment);

// sha256 over kind, counts, keys and before-images of every statement, and (after_approved) the
// masked after-images and volatility classes of the statements and restorable closure tables.
std::string fingerprint(const Evidence& evidence);

// Apply commits only when the whole write closure changed as approved: the same tables, the same
// counts per table, and the same rows (before-images) updated or deleted. Throws
// Error(count_mismatch) naming the tables, and the rows by key, that differ.
void require_same_closure(const ImageStore& images, const Evidence& seen, const Evidence& approved,
                          const std::string& environment, VolatileValues* values = nullptr);

std::vector<std::size_t> key_positions(const StatementEvidence& evidence);
// The positions of `key_columns` in `columns`.
std::vector<std::size_t> key_positions(const std::vector<std::string>& columns,
                                       const std::vector<std::string>& key_columns);

}  // namespace datafix::targetdb
