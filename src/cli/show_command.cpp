// `datafix show`: a request's state, runs and approvals; with --run, one run's evidence, and with
// --images its decrypted before/after diff (for the driver, the pair and the product owner).
#include <iostream>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/preflight_view.hpp"
#include "cli/request_view.hpp"
#include "cli/verb_support.hpp"

namespace datafix::cli {

void register_show(CLI::App& root, Action& action) {
    auto o = std::make_shared<VerbOptions>();
    auto run = std::make_shared<int>(0);
    auto images = std::make_shared<bool>(false);
    auto* cmd = root.add_subcommand("show", "show a request: people, revision, environments, runs");
    add_request_argument(*cmd, *o);
    cmd->add_option("--run", *run, "show one run's evidence");
    cmd->add_flag("--images", *images, "with --run: the before/after diff of the rows");
    cmd->callback([&action, o, run, images] {
        action = [o, run, images] {
            ApiClient client(o->flags);
            Style style(o->flags);
            if (*run == 0) {
                auto state = client.get(request_path(o->request));
                if (o->flags.json()) {
                    print_json(state);
                } else {
                    print_request(state, style);
                }
                return 0;
            }
            auto body = client.get(request_path(
                o->request, "/runs/" + std::to_string(*run) + (*images ? "/images" : "")));
            if (o->flags.json()) {
                print_json(body);
                return 0;
            }
            const auto& r = body["run"];
            std::cout << style.bold("run " + text(r["number"])) << ": " << text(r["kind"]) << " on "
                      << text(r["environment"]) << ", " << text(r["state"]) << ", revision "
                      << text(r["revision"]) << ", by " << person_text(r["started_by"]) << "\n";
            if (body.contains("evidence")) {
                print_evidence(body["evidence"], style);
            }
            if (body.contains("preflight")) {
                print_preflight_findings(body["preflight"], style);
            }
            if (*images) {
                print_images(body, style);
                if (!body.value("failure_message", "").empty()) {
                    std::cout << "  failure: " << text(body["failure_message"]) << "\n";
                }
            }
            return 0;
        };
    });
}

}  // namespace datafix::cli
