// The masked digest of an after-image: sha256 over its rows with the volatile columns replaced by
// their class (and whether they are NULL). Rows stay in file order unless a key column is
// volatile; the digest is then over the sorted digests of the masked rows, so rows pair by
// content. One accumulator serves the digest streamed while an image is written
// (ImageWriter::mask) and the one computed by reading a sealed image again
// (evidence_check.hpp's masked_after_digest), so both are the same computation.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/hash.hpp"
#include "targetdb/evidence.hpp"

namespace datafix::targetdb {

class MaskedDigest {
  public:
    MaskedDigest(const std::vector<std::string>& columns,
                 const std::vector<std::string>& key_columns,
                 const std::vector<VolatileColumn>& volatility);
    void add(std::string_view row);
    std::string hex_digest();

    // What the digest depends on (columns, key columns, each volatile column's class), as text:
    // a digest streamed for one signature answers only for that signature.
    static std::string signature(const std::vector<std::string>& columns,
                                 const std::vector<std::string>& key_columns,
                                 const std::vector<VolatileColumn>& volatility);

  private:
    std::vector<const VolatileColumn*> mask_;
    std::vector<VolatileColumn> volatility_;
    bool sorted_ = false;
    Sha256 digest_;
    std::vector<std::string> rows_;  // per-row digests, when sorted_
};

// Whether a key column is volatile (its values are drawn anew at every run).
bool key_is_volatile(const std::vector<std::string>& key_columns,
                     const std::vector<VolatileColumn>& volatility);

}  // namespace datafix::targetdb
