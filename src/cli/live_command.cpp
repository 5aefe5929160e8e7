// `datafix live N ENV`: live mode, where the environment allows it. The driver runs the change
// once; its transaction stays open while the pair looks at the evidence, and the pair's
// `datafix approve N ENV` commits it. `--cancel` (driver or pair) rolls it back; so does the end
// of the environment's window.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/preflight_view.hpp"
#include "cli/request_view.hpp"
#include "cli/verb_support.hpp"

namespace datafix::cli {

void register_live(CLI::App& root, Action& action) {
    auto o = std::make_shared<VerbOptions>();
    auto cancel = std::make_shared<bool>(false);
    auto* cmd = root.add_subcommand(
        "live", "run the change once and hold its transaction open until the pair approves it");
    add_request_argument(*cmd, *o);
    cmd->add_option("environment", o->environment, "an environment with live = true")->required();
    cmd->add_flag("--cancel", *cancel, "roll back the open live run (the driver or the pair)");
    cmd->callback([&action, o, cancel] {
        action = [o, cancel] {
            ApiClient client(o->flags);
            std::string base =
                request_path(o->request, "/environments/" + o->environment + "/live");
            if (*cancel) {
                auto result = client.post(base + "/cancel", nlohmann::json::object());
                return report_step(o->flags, result,
                                   "live run " + text(result["run"]) + " on " + o->environment +
                                       " rolled back; nothing changed",
                                   false);
            }
            auto result = client.post(base, nlohmann::json::object());
            if (o->flags.json()) {
                print_json(result);
                return 0;
            }
            Style style(o->flags);
            if (result.value("status", "") != "open") {
                std::cout << "live run " << text(result["run"]) << " on " << o->environment << ": "
                          << text(result["status"]) << "\n";
                return 0;
            }
            std::cout << style.green("✓ ") << "live run " << text(result["run"]) << " of request #"
                      << o->request << " on " << o->environment
                      << ": the change ran once and its transaction is open until "
                      << text(result["deadline"]) << " (" << text(result["seconds_left"])
                      << " s left)\n";
            print_evidence(result["evidence"], style);
            if (result.contains("preflight")) {
                print_preflight_findings(result["preflight"], style);
            }
            std::cout << "  the pair commits it with: datafix approve " << o->request << " "
                      << o->environment << "\n"
                      << "  roll it back with: datafix live " << o->request << " " << o->environment
                      << " --cancel\n";
            return 0;
        };
    });
}

}  // namespace datafix::cli
