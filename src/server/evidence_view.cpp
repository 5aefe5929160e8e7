// A run's evidence as the API shows it to everyone: names, counts and digests, never values.
#include "server/evidence_view.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "targetdb/evidence_json.hpp"

namespace datafix::server {

namespace {

// The columns that may hold other values at apply, each with the class it is compared by and its
// cause (names of columns, triggers and functions; never values).
nlohmann::json volatility_summary(const std::vector<targetdb::VolatileColumn>& volatility) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : volatility) {
        out.push_back({{"column", v.column},
                       {"class", targetdb::volatility_class_name(v.volatility)},
                       {"cause", v.cause}});
    }
    return out;
}

}  // namespace

bool is_indirect(const targetdb::TableChanges& changes) {
    return std::none_of(changes.causes.begin(), changes.causes.end(),
                        [](const std::string& c) { return c.rfind("statement ", 0) == 0; });
}

nlohmann::json evidence_summary(const targetdb::Evidence& evidence) {
    nlohmann::json statements = nlohmann::json::array();
    for (const auto& s : evidence.statements) {
        statements.push_back({
            {"index", s.index},
            {"kind", std::string(targetdb::statement_kind_name(s.kind))},
            {"table", s.schema.empty() ? s.table : s.schema + "." + s.table},
            {"expected_rows", s.expected_rows ? nlohmann::json(*s.expected_rows) : nullptr},
            {"actual_rows", s.actual_rows},
            {"before_rows", s.before.rows},
            {"after_rows", s.after.rows},
            {"before_digest", s.before.digest},
            {"after_digest", s.after.digest},
            {"before_keys_digest", s.before.keys_digest},
            {"after_keys_digest", s.after.keys_digest},
            {"volatile_columns", s.volatile_columns},
            {"volatility", volatility_summary(s.volatility)},
            {"indirect_writes", s.indirect_writes},
        });
    }
    nlohmann::json summary = {{"fingerprint", evidence.fingerprint},
                              {"environment", evidence.environment},
                              {"system_identifier", evidence.system_identifier},
                              {"plan_sha256", evidence.plan_sha256},
                              {"statements", statements},
                              {"verify_queries", evidence.verify.size()},
                              {"conflicts", evidence.conflicts.size()}};
    if (evidence.closure_captured) {
        // Every table the change wrote, directly or through triggers, foreign-key actions and
        // rules: names, causes, counts and digests, never values.
        nlohmann::json closure = nlohmann::json::array();
        for (const auto& c : evidence.closure) {
            closure.push_back({{"table", c.qualified()},
                               {"causes", c.causes},
                               {"indirect", is_indirect(c)},
                               {"append_only", c.append_only},
                               {"inserted", c.inserted},
                               {"updated", c.updated},
                               {"deleted", c.deleted},
                               {"before_digest", c.before.digest},
                               {"after_digest", c.after.digest},
                               {"volatility", volatility_summary(c.volatility)}});
        }
        summary["closure"] = std::move(closure);
        summary["revert_exact"] = evidence.revert_hazards.empty();
        summary["revert_hazards"] = evidence.revert_hazards;
    }
    summary["superuser_login"] = evidence.superuser_login;
    // The approval covers the after-images outside the volatile columns; where volatility could
    // not be learned from its causes, the preview rehearsed twice and says why.
    summary["after_approved"] = evidence.after_approved;
    summary["volatility_unknown"] = evidence.volatility_unknown;
    return summary;
}

}  // namespace datafix::server
