// EXPLAIN for the pre-flight report. The JSON plan is read for one number; nothing else from it
// is kept, since its filter expressions quote the statement's literal values.
#include "targetdb/preflight_estimate.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>

#include "core/error.hpp"
#include "targetdb/connection.hpp"
#include "targetdb/preflight_explain.hpp"

namespace datafix::targetdb {

namespace {

constexpr const char* kSavepoint = "datafix_preflight_explain";

// ModifyTable reports 0 rows without RETURNING; the rows it will touch are its input's.
const nlohmann::json* row_source(const nlohmann::json& plan) {
    if (plan.value("Node Type", "") != "ModifyTable" || !plan.contains("Plans")) {
        return &plan;
    }
    for (const auto& child : plan["Plans"]) {
        if (child.value("Parent Relationship", "") == "Outer") {
            return &child;
        }
    }
    return plan["Plans"].empty() ? &plan : &plan["Plans"][0];
}

// Messages of class 42 (privileges, missing objects) name objects only; other classes (e.g. 22,
// data exceptions) can quote a value from the statement, so only their SQLSTATE is kept.
std::string safe_reason(const Error& e) {
    auto failure = database_failure_from(e);
    if (!failure) {
        return "EXPLAIN failed";
    }
    if (failure->sqlstate.rfind("42", 0) == 0 || failure->sqlstate == "55P03" ||
        failure->sqlstate == "57014") {
        return failure->message + " (SQLSTATE " + failure->sqlstate + ")";
    }
    return "the server could not plan the statement (SQLSTATE " + failure->sqlstate + ")";
}

}  // namespace

bool estimate_is_far(long long declared, long long estimated) {
    if (std::llabs(estimated - declared) <= 10) {
        return false;
    }
    return estimated * 10 < declared || estimated > declared * 10;
}

std::optional<long long> rows_from_explain_json(const std::string& json) {
    auto parsed = nlohmann::json::parse(json, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_array() || parsed.empty() ||
        !parsed[0].contains("Plan")) {
        return std::nullopt;
    }
    const auto* source = row_source(parsed[0]["Plan"]);
    if (!source->contains("Plan Rows")) {
        return std::nullopt;
    }
    return std::llround((*source)["Plan Rows"].get<double>());
}

void estimate_rows(Connection& connection, const PlannedStatement& statement,
                   StatementReport& report) {
    connection.query(std::string("SAVEPOINT ") + kSavepoint);
    try {
        // The statement was admitted by the SQL guard as one INSERT/UPDATE/DELETE/MERGE; EXPLAIN
        // without ANALYZE plans it and does not run it (and the transaction is READ ONLY).
        auto r = connection.query("EXPLAIN (FORMAT JSON) " + statement.text);
        report.estimated = rows_from_explain_json(r.scalar());
        if (!report.estimated) {
            report.estimate_unavailable = "EXPLAIN returned no plan";
        }
        connection.query(std::string("RELEASE SAVEPOINT ") + kSavepoint);
    } catch (const Error& e) {
        if (e.code() != ErrorCode::database) {
            throw;
        }
        connection.query(std::string("ROLLBACK TO SAVEPOINT ") + kSavepoint);
        connection.query(std::string("RELEASE SAVEPOINT ") + kSavepoint);
        report.estimate_unavailable = safe_reason(e);
    }
    if (report.estimated && report.declared) {
        report.estimate_far = estimate_is_far(*report.declared, *report.estimated);
    }
}

}  // namespace datafix::targetdb
