// A run's evidence kept by the server: the target's JSON form of it (statements, image file
// paths, digests, counts, verify results, fingerprint) in one sealed file in the data directory,
// referenced from the ledger's run. The images themselves are the target layer's sealed files.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "core/crypto.hpp"
#include "targetdb/evidence.hpp"

namespace datafix::run {

// Writes the evidence (target's JSON form, verify results included) to `path`, sealed.
void save_evidence(const Key& key, const std::string& path, const targetdb::Evidence& evidence);
targetdb::Evidence load_evidence(const Key& key, const std::string& path);

// Verify results and revert conflicts as JSON: {verify: [{index, columns, rows, truncated}],
// conflicts: [...]}. Private: sealed in the ledger's run, shown only in the images view.
nlohmann::json verify_json(const targetdb::Evidence& evidence);
// The same as text (stored sealed in the ledger's run).
std::string verify_results_text(const targetdb::Evidence& evidence);

}  // namespace datafix::run
