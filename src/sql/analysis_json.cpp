// JSON of an analysis. The exact statement text is left out on purpose (it may hold private
// data); its SHA-256 identifies it instead.
#include "sql/analysis_json.hpp"

#include <nlohmann/json.hpp>

#include "core/hash.hpp"

namespace datafix::sql {

nlohmann::json to_json(const Verdict& verdict) {
    nlohmann::json j = {{"allowed", verdict.allowed}};
    if (!verdict.allowed) {
        j["rule"] = verdict.rule;
        j["reason"] = verdict.reason;
        j["hint"] = verdict.hint;
    }
    return j;
}

nlohmann::json to_json(const Statement& statement) {
    return {
        {"index", statement.index},
        {"line", statement.line},
        {"column", statement.column},
        {"kind", kind_name(statement.kind)},
        {"tables_written", statement.tables_written},
        {"has_where", statement.has_where},
        {"where_constant_true", statement.where_constant_true},
        {"normalized", statement.normalized},
        {"fingerprint", statement.fingerprint},
        {"text_sha256", sha256_hex(statement.text)},
        {"verdict", to_json(statement.verdict)},
    };
}

nlohmann::json to_json(const Analysis& analysis) {
    nlohmann::json statements = nlohmann::json::array();
    for (const Statement& s : analysis.statements) {
        statements.push_back(to_json(s));
    }
    return {
        {"file", analysis.file},     {"role", role_name(analysis.role)},
        {"sha256", analysis.sha256}, {"all_allowed", analysis.all_allowed()},
        {"statements", statements},
    };
}

}  // namespace datafix::sql
