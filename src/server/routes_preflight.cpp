// The pre-flight report of a request on an environment: what its current revision will meet
// there (privileges, row security, triggers, locks, estimates), read as the environment's role
// through the same leader discovery and guards as a run, without starting a run. For the people
// of the request only (route_support.hpp's require_member).
#include "run/executor.hpp"
#include "run/leader.hpp"
#include "server/api_error.hpp"
#include "server/route_support.hpp"
#include "server/routes.hpp"
#include "targetdb/preflight_json.hpp"
#include "targetdb/preflight_render.hpp"

namespace datafix::server {

namespace {

nlohmann::json preflight(Context& context, model::RequestNumber number,
                         const std::string& environment, const model::Person& actor) {
    const model::RequestState state = context.load_request(number);
    require_member(state, actor, "preflight-private", "the pre-flight report");
    const EnvironmentConfig* env = &context.config().require_environment(environment);
    const model::Revision* revision = state.current_revision();
    if (revision == nullptr) {
        throw ApiError(ErrorCode::rule, "change-required", "the request has no change yet",
                       "attach one: datafix change " + std::to_string(number) +
                           " --change FILE --expect ROWS");
    }
    targetdb::ChangePlan plan = run::change_plan(*revision, "request " + std::to_string(number));
    targetdb::PreflightReport report = run::on_leader(
        *env, [&](run::LeaderSession& leader) { return leader.session().preflight(plan); });
    context.log().info("request {}: pre-flight on {} for user {} ({} findings)", number,
                       environment, actor.id, report.findings.size());
    nlohmann::json body = targetdb::preflight_to_json(report);
    body["request"] = number;
    body["revision"] = revision->number;
    body["revision_hash"] = revision->hash;
    // The text `datafix preflight` prints, rendered once here from the report itself.
    body["text"] = targetdb::render_preflight(report);
    return body;
}

}  // namespace

void add_preflight_routes(Router& http, Context& context) {
    http.Get(R"(/api/requests/(\d+)/environments/([A-Za-z0-9_-]+)/preflight)",
             authed(context, [&context](const auto& req, auto& res, const model::Person& actor) {
                 send_json(res, preflight(context, path_number(req, 1), path_text(req, 2), actor));
             }));
}

}  // namespace datafix::server
