// Runs on an environment (preview, apply, revert, in-doubt resolution) and the pair's approvals
// of evidence and of an emergency revert.
#include "server/api_error.hpp"
#include "server/route_support.hpp"
#include "server/routes.hpp"
#include "server/run_view.hpp"
#include "workflow/reading.hpp"

namespace datafix::server {

void add_run_routes(Router& http, Context& context, run::Executor& executor) {
    const char* env_path = R"(/api/requests/(\d+)/environments/([A-Za-z0-9_-]+)/)";

    http.Post(std::string(env_path) + "preview",
              authed(context, [&](const auto& req, auto& res, const model::Person& actor) {
                  json_body(context, req);
                  answer_run(res, path_number(req, 1), path_text(req, 2),
                             executor.preview(path_number(req, 1), path_text(req, 2), actor));
              }));

    http.Post(std::string(env_path) + "apply",
              authed(context, [&](const auto& req, auto& res, const model::Person& actor) {
                  nlohmann::json body = json_body(context, req);
                  answer_run(res, path_number(req, 1), path_text(req, 2),
                             executor.apply(path_number(req, 1), path_text(req, 2),
                                            string_field(body, "fingerprint"), actor));
              }));

    http.Post(std::string(env_path) + "revert",
              authed(context, [&](const auto& req, auto& res, const model::Person& actor) {
                  json_body(context, req);
                  answer_run(res, path_number(req, 1), path_text(req, 2),
                             executor.revert(path_number(req, 1), path_text(req, 2), actor));
              }));

    // Live mode: the driver starts it (the answer comes once the evidence is shown, with the
    // transaction open); the driver or the pair cancels it; the pair's approve commits it.
    http.Post(std::string(env_path) + "live",
              authed(context, [&](const auto& req, auto& res, const model::Person& actor) {
                  json_body(context, req);
                  answer_run(res, path_number(req, 1), path_text(req, 2),
                             executor.start_live(path_number(req, 1), path_text(req, 2), actor));
              }));

    http.Post(std::string(env_path) + "live/cancel",
              authed(context, [&](const auto& req, auto& res, const model::Person& actor) {
                  json_body(context, req);
                  answer_run(res, path_number(req, 1), path_text(req, 2),
                             executor.cancel_live(path_number(req, 1), path_text(req, 2), actor));
              }));

    http.Post(
        std::string(env_path) + "(approve|approve-revert)",
        authed(context, [&](const auto& req, auto& res, const model::Person& actor) {
            nlohmann::json body = json_body(context, req);
            model::RequestNumber number = path_number(req, 1);
            std::string environment = path_text(req, 2);
            if (path_text(req, 3) == "approve" &&
                workflow::reading::open_live_run(context.load_request(number), environment) !=
                    nullptr) {
                // The open live transaction shows the evidence: approving it commits it.
                answer_run(
                    res, number, environment,
                    executor.approve_live(number, environment, string_field(body, "revision_hash"),
                                          string_field(body, "fingerprint"), actor));
                return;
            }
            workflow::Action action =
                workflow::ApproveEmergencyRevert{environment, string_field(body, "revision_hash")};
            if (path_text(req, 3) == "approve") {
                action = workflow::ApproveEvidence{environment, string_field(body, "revision_hash"),
                                                   string_field(body, "fingerprint")};
            }
            workflow::Decision decision = context.perform(number, action, actor);
            if (!decision.allowed()) {
                throw_refusal(*decision.refusal);
            }
            send_json(res, state_json(decision.state, context.people(), context.config().workflow(),
                                      model::wall_clock_now(), actor.id));
        }));

    http.Post(R"(/api/requests/(\d+)/runs/(\d+)/resolve)",
              authed(context, [&](const auto& req, auto& res, const model::Person& actor) {
                  json_body(context, req);
                  send_json(
                      res, run_report_json(executor.resolve(
                               path_number(req, 1), static_cast<int>(path_number(req, 2)), actor)));
              }));
}

}  // namespace datafix::server
