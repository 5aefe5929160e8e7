// Guard verdicts are checked again here, not trusted from the caller: the executor must never see
// a refused statement, whoever built the analysis.
#include "targetdb/plan_builder.hpp"

#include "core/error.hpp"
#include "sql/capture_plan.hpp"

namespace datafix::targetdb {

namespace {

[[noreturn]] void refuse(const sql::Analysis& file, const sql::Statement& s,
                         const std::string& reason, const std::string& hint) {
    throw Error(ErrorCode::refused,
                file.file + ": statement " + std::to_string(s.index) + " (line " +
                    std::to_string(s.line) + "): " + reason,
                hint);
}

StatementKind change_kind(const sql::Analysis& file, const sql::Statement& s) {
    switch (s.kind) {
        case sql::StatementKind::insert:
            return StatementKind::insert;
        case sql::StatementKind::update:
            return StatementKind::update;
        case sql::StatementKind::delete_:
            return StatementKind::delete_;
        case sql::StatementKind::merge:
            return StatementKind::merge;
        default:
            refuse(file, s, "only INSERT, UPDATE, DELETE and MERGE belong in a change file",
                   "move queries to the verify file");
    }
}

}  // namespace

ChangePlan build_change_plan(const std::string& name, const sql::Analysis& change,
                             const std::vector<std::optional<long long>>& expected_rows,
                             const sql::Analysis* verify) {
    ChangePlan plan;
    plan.name = name;
    plan.sha256 = change.sha256;
    for (std::size_t i = 0; i < change.statements.size(); ++i) {
        const auto& s = change.statements[i];
        if (!s.verdict.allowed) {
            refuse(change, s, s.verdict.reason, s.verdict.hint);
        }
        PlannedStatement p;
        p.index = s.index;
        p.text = s.text;
        p.kind = change_kind(change, s);
        p.expected_rows = i < expected_rows.size() ? expected_rows[i] : std::nullopt;
        auto capture = sql::capture_plan(s);
        if (capture.on_conflict_update) {
            refuse(change, s,
                   "INSERT ... ON CONFLICT DO UPDATE changes existing rows whose before-images "
                   "cannot be captured up front, so it could not be reverted",
                   "split it into an UPDATE of the existing rows and an INSERT of the new ones");
        }
        p.capture = std::move(capture);
        p.tables_read = s.tables_read;
        p.calls = s.calls;
        plan.statements.push_back(std::move(p));
    }
    if (verify == nullptr) {
        return plan;
    }
    plan.sha256 += "+" + verify->sha256;
    for (const auto& s : verify->statements) {
        if (!s.verdict.allowed) {
            refuse(*verify, s, s.verdict.reason, s.verdict.hint);
        }
        if (s.kind != sql::StatementKind::select) {
            refuse(*verify, s, "only SELECT belongs in a verify file",
                   "move data changes to the change file");
        }
        plan.verify.push_back(VerifyQuery{s.index, s.text, s.calls});
    }
    return plan;
}

}  // namespace datafix::targetdb
