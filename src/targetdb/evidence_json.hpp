// Evidence and outcomes as JSON, for the ledger (which encrypts the verify results and the image
// paths' contents stay sealed on disk). Round-trips exactly.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "targetdb/evidence.hpp"
#include "targetdb/outcome.hpp"

namespace datafix::targetdb {

nlohmann::json to_json(const Evidence& evidence);
// Throws Error(invalid_input) on a malformed document.
Evidence evidence_from_json(const nlohmann::json& document);

std::string_view outcome_status_name(OutcomeStatus status);

// The names of volatility classes in the stored evidence: "clock", "sequence", "random",
// "observed" (an unknown name reads as observed).
std::string_view volatility_class_name(VolatilityClass c);
// "insert", "update", "delete", "merge": as stored and as the API shows them.
std::string_view statement_kind_name(StatementKind kind);
VolatilityClass volatility_class_from(std::string_view name);

}  // namespace datafix::targetdb
