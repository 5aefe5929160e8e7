// A run's evidence kept by the server: the manifest (statements, image file paths, digests,
// counts, fingerprint) in one sealed file in the data directory, referenced from the ledger's run.
// The images themselves are the target layer's sealed files; verify results travel separately
// (sealed by the ledger), so a manifest holds nothing private in clear anywhere.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/crypto.hpp"
#include "target/evidence.hpp"

namespace datafix::server {

nlohmann::json evidence_json(const target::Evidence& evidence, bool with_verify);
target::Evidence evidence_from_json(const nlohmann::json& j);

// Writes the manifest (without verify results) to `path`, sealed with `key`.
void save_evidence(const Key& key, const std::string& path, const target::Evidence& evidence);
target::Evidence load_evidence(const Key& key, const std::string& path);

// Verify results as JSON text (stored sealed in the ledger's run).
std::string verify_results_text(const target::Evidence& evidence);

// What may be shown to anyone: per statement table, counts, keys count, digests.
nlohmann::json evidence_summary(const target::Evidence& evidence);

}  // namespace datafix::server
