// A run's report and events as the API shows them (JSON), and the one place that decides how a
// run's outcome is answered: an outcome in doubt is HTTP 202 (in_doubt), an apply or live run that
// did not commit an error (database), everything else 200.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "run/host.hpp"
#include "run/run_report.hpp"
#include "server/http.hpp"

namespace datafix::server {

// {run, status, ...}: evidence as evidence_summary (never values), the pre-flight report for a
// preview or an open live run, the deadline and seconds left of an open live run.
nlohmann::json run_report_json(const run::RunReport& report);
// The event's payload for the request's watchers.
nlohmann::json run_event_json(const run::RunEvent& event);
// Answers the report, or throws ApiError(in_doubt) / ApiError(database, not-committed) with the
// report as its details and a HINT naming the next command.
void answer_run(Response& res, model::RequestNumber number, const std::string& environment,
                const run::RunReport& report);

}  // namespace datafix::server
