// Runs' reports and events as JSON, and how their outcomes are answered.
#include "server/run_view.hpp"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "server/api_error.hpp"
#include "server/evidence_view.hpp"
#include "server/state_json.hpp"
#include "targetdb/preflight_json.hpp"

namespace datafix::server {

namespace {

bool is_outcome(run::RunStatus status) {
    return status == run::RunStatus::committed || status == run::RunStatus::not_committed ||
           status == run::RunStatus::in_doubt;
}

}  // namespace

nlohmann::json run_report_json(const run::RunReport& report) {
    nlohmann::json out = {{"run", report.run},
                          {"status", std::string(run::run_status_name(report.status))}};
    if (is_outcome(report.status) || !report.resolved_by.empty()) {
        out["resolved_by"] = report.resolved_by;
    }
    if (is_outcome(report.status)) {
        out["xid"] = report.xid;
    }
    if (!report.reason.empty() && report.status == run::RunStatus::rolled_back) {
        out["reason"] = report.reason;
    }
    if (report.status == run::RunStatus::open && report.deadline) {
        auto left = std::chrono::duration_cast<std::chrono::seconds>(*report.deadline -
                                                                     model::wall_clock_now());
        out["deadline"] = format_time(*report.deadline);
        out["seconds_left"] = std::max<long long>(0, left.count());
        out["fingerprint"] = report.fingerprint;
    }
    if (report.evidence) {
        out["evidence"] = evidence_summary(*report.evidence);
    }
    if (report.status == run::RunStatus::previewed || report.status == run::RunStatus::open) {
        out["preflight"] = report.preflight ? targetdb::preflight_to_json(*report.preflight)
                                            : nlohmann::json(nullptr);
    }
    return out;
}

nlohmann::json run_event_json(const run::RunEvent& event) {
    if (event.type == "run.finished" && event.outcome != nullptr) {
        // The outcome as the caller gets it, without the pre-flight report.
        nlohmann::json out = run_report_json(*event.outcome);
        out.erase("preflight");
        return out;
    }
    nlohmann::json out = {{"run", event.run}};
    if (!event.kind.empty()) {
        out["kind"] = event.kind;
    }
    if (!event.environment.empty()) {
        out["environment"] = event.environment;
    }
    if (event.deadline) {
        out["deadline"] = format_time(*event.deadline);
    }
    if (!event.fingerprint.empty()) {
        out["fingerprint"] = event.fingerprint;
    }
    if (event.evidence != nullptr) {
        out["evidence"] = evidence_summary(*event.evidence);
    }
    if (!event.error.empty()) {
        out["error"] = event.error;
    }
    if (event.recovered) {
        out["recovered"] = true;
    }
    if (!event.why.empty()) {
        out["why"] = event.why;
    }
    return out;
}

void answer_run(Response& res, model::RequestNumber number, const std::string& environment,
                const run::RunReport& report) {
    const std::string run = std::to_string(report.run);
    if (report.status == run::RunStatus::in_doubt) {
        if (report.outcome_unrecorded) {
            throw ApiError(
                ErrorCode::in_doubt, "outcome-not-recorded",
                "run " + run + " reached its COMMIT, but the ledger could not record the outcome",
                "free the ledger's storage; the server settles the run when it can "
                "(or datafix resolve " +
                    std::to_string(number) + " " + run + ")");
        }
        std::string what = report.kind == model::RunKind::revert ? "the revert"
                           : report.kind == model::RunKind::live ? "live run " + run
                                                                 : "run " + run;
        throw ApiError(ErrorCode::in_doubt, "run-in-doubt",
                       "the commit of " + what + " was sent and its outcome is not known yet" +
                           (report.reason.empty() ? "" : ": " + report.reason),
                       "resolve it: datafix resolve " + std::to_string(number) + " " + run,
                       run_report_json(report));
    }
    if (report.status == run::RunStatus::not_committed && report.kind == model::RunKind::apply) {
        throw ApiError(ErrorCode::database, "not-committed",
                       "the apply did not commit; nothing changed",
                       "preview again and ask the pair to approve", run_report_json(report));
    }
    if (report.status == run::RunStatus::not_committed && report.kind == model::RunKind::live) {
        throw ApiError(
            ErrorCode::database, "not-committed", "the live run did not commit; nothing changed",
            "start it again (datafix live " + std::to_string(number) + " " + environment + ")",
            run_report_json(report));
    }
    send_json(res, run_report_json(report));
}

}  // namespace datafix::server
