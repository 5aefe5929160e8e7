// Backups before an apply, as jobs: POST .../environments/{env}/backup starts one (the driver; 202
// with the job, progress on the request's live events), GET .../backup lists the environment's
// jobs with their states and results, and POST .../backup/cancel stops the running one. The jobs
// are the run layer's (run/backups.hpp); their reports are answered by backup_view.
#include "run/backups.hpp"
#include "server/api_error.hpp"
#include "server/backup_view.hpp"
#include "server/route_support.hpp"
#include "server/routes.hpp"

namespace datafix::server {

void add_backup_routes(Router& http, Context& context, run::Backups& backups) {
    const std::string env_path = R"(/api/requests/(\d+)/environments/([A-Za-z0-9_-]+)/backup)";

    http.Post(env_path, authed(context, [&](const auto& req, auto& res, const auto& actor) {
                  json_body(context, req);
                  run::BackupReport report =
                      backups.start(path_number(req, 1), path_text(req, 2), actor);
                  answer_backup(res, report, context.people());
              }));

    http.Get(env_path, authed(context, [&](const auto& req, auto& res, const auto& /*actor*/) {
                 const std::string environment = path_text(req, 2);
                 auto jobs = backups.jobs(path_number(req, 1), environment);
                 send_json(res, backup_jobs_json(environment, jobs, context.people()));
             }));

    http.Post(env_path + "/cancel",
              authed(context, [&](const auto& req, auto& res, const auto& actor) {
                  json_body(context, req);
                  run::BackupReport report =
                      backups.cancel(path_number(req, 1), path_text(req, 2), actor);
                  answer_backup(res, report, context.people());
              }));
}

}  // namespace datafix::server
