// Comparing what a run sees with what was approved, and learning which after-image columns are
// volatile. Images are compared by streaming both files; only a mismatch loads keys into memory
// (to name the rows that differ).
#pragma once

#include <string>
#include <vector>

#include "target/evidence.hpp"
#include "target/image_store.hpp"

namespace datafix::target {

// Names of columns whose values differ between two rehearsals' after-images (aligned by row
// position: both are sorted by key). Different row counts make every column volatile.
std::vector<std::string> find_volatile_columns(const ImageStore& images,
                                               const StatementEvidence& first,
                                               const StatementEvidence& second);

// Throws Error(count_mismatch) naming the differing rows (by key) when `seen` does not match
// `approved`: counts, keys, before-images, after-images outside the volatile columns.
void require_same_as_approved(const ImageStore& images, const StatementEvidence& seen,
                              const StatementEvidence& approved, const std::string& environment);

// Throws Error(count_mismatch) with both numbers when a declared count was not met.
void require_declared_count(const StatementEvidence& seen, const std::string& environment);

// sha256 over kind, counts, keys and before-images of every statement.
std::string fingerprint(const Evidence& evidence);

// Apply commits only when the whole write closure changed as approved: the same tables, the same
// counts per table, and the same rows (before-images) updated or deleted. Throws
// Error(count_mismatch) naming the tables, and the rows by key, that differ.
void require_same_closure(const ImageStore& images, const Evidence& seen, const Evidence& approved,
                          const std::string& environment);

std::vector<std::size_t> key_positions(const StatementEvidence& evidence);
// The positions of `key_columns` in `columns`.
std::vector<std::size_t> key_positions(const std::vector<std::string>& columns,
                                       const std::vector<std::string>& key_columns);

}  // namespace datafix::target
