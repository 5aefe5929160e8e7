// A run's evidence as the API shows it to everyone (evidence_view.cpp).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "targetdb/evidence.hpp"

namespace datafix::server {

// What may be shown to anyone: per statement table, counts, keys count, digests.
nlohmann::json evidence_summary(const targetdb::Evidence& evidence);
// A closure table no statement names: written only by triggers, foreign-key actions or rules.
bool is_indirect(const targetdb::TableChanges& changes);

}  // namespace datafix::server
