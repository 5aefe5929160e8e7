// Backups before an apply, as jobs: POST .../environments/{env}/backup starts one (the driver; 202
// with the job, progress on the request's live events), GET .../backup lists the environment's
// jobs with their states and results, and POST .../backup/cancel stops the running one.
#include "server/api_error.hpp"
#include "server/backups.hpp"
#include "server/route_support.hpp"
#include "server/routes.hpp"

namespace datafix::server {

void add_backup_routes(Router& http, Context& context, Backups& backups) {
    const std::string env_path = R"(/api/requests/(\d+)/environments/([A-Za-z0-9_-]+)/backup)";

    http.Post(env_path, authed(context, [&](const auto& req, auto& res, const auto& actor) {
                  json_body(context, req);
                  send_json(res, backups.start(path_number(req, 1), path_text(req, 2), actor), 202);
              }));

    http.Get(env_path, authed(context, [&](const auto& req, auto& res, const auto& actor) {
                 send_json(res, backups.jobs(path_number(req, 1), path_text(req, 2), actor));
             }));

    http.Post(env_path + "/cancel",
              authed(context, [&](const auto& req, auto& res, const auto& actor) {
                  json_body(context, req);
                  send_json(res, backups.cancel(path_number(req, 1), path_text(req, 2), actor));
              }));
}

}  // namespace datafix::server
