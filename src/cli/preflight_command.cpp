// `datafix preflight N ENV`: what request N's change will meet on an environment (privileges,
// row security, triggers, locks, estimates), read by the server as that environment's role.
// Nothing is written. Exit status 6 (target_refused) when the report has a blocker, so a script
// can stop before asking for a preview that cannot succeed.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/verb_support.hpp"

namespace datafix::cli {

namespace {

int blockers_in(const nlohmann::json& report) {
    int count = 0;
    for (const auto& f : report.value("findings", nlohmann::json::array())) {
        if (f.value("severity", "") == "blocker") {
            ++count;
        }
    }
    return count;
}

}  // namespace

void register_preflight(CLI::App& root, Action& action) {
    auto o = std::make_shared<VerbOptions>();
    auto* cmd = root.add_subcommand(
        "preflight",
        "what a change will meet on an environment: privileges, row security, triggers, locks, "
        "estimates (exit status 6 when something blocks it)");
    add_request_argument(*cmd, *o);
    cmd->add_option("environment", o->environment, "dev, test, prod (as configured)")->required();
    cmd->callback([&action, o] {
        action = [o] {
            ApiClient client(o->flags);
            auto report = client.get(
                request_path(o->request, "/environments/" + o->environment + "/preflight"));
            if (o->flags.json()) {
                print_json(report);
            } else {
                std::cout << report.value("text", "");
            }
            if (int blockers = blockers_in(report); blockers > 0) {
                throw Error(ErrorCode::target_refused,
                            "the pre-flight on " + o->environment + " found " +
                                std::to_string(blockers) +
                                (blockers == 1 ? " blocker" : " blockers"),
                            "fix what the findings name on " + o->environment +
                                " (or change the request) before previewing");
            }
            return 0;
        };
    });
}

}  // namespace datafix::cli
