// `datafix claim | release | handover`: the exclusive claim that makes one developer the driver.
#include "cli/commands.hpp"
#include "cli/verb_support.hpp"

namespace datafix::cli {

void register_claim(CLI::App& root, Action& action) {
    auto o = std::make_shared<VerbOptions>();
    auto* cmd = root.add_subcommand(
        "claim", "become the driver of a request (exclusive; renews your lease when you drive)");
    add_request_argument(*cmd, *o);
    cmd->callback([&action, o] {
        action = [o] {
            ApiClient client(o->flags);
            auto state = client.post(request_path(o->request, "/claim"), nlohmann::json::object());
            return report_step(o->flags, state,
                               "you drive request #" + std::to_string(o->request) +
                                   " (lease until " +
                                   state["claim"].value("lease_expires_at", "?") + ")");
        };
    });

    auto r = std::make_shared<VerbOptions>();
    auto* release = root.add_subcommand("release", "give up driving a request");
    add_request_argument(*release, *r);
    release->callback([&action, r] {
        action = [r] {
            ApiClient client(r->flags);
            auto state =
                client.post(request_path(r->request, "/release"), nlohmann::json::object());
            return report_step(r->flags, state, "released request #" + std::to_string(r->request));
        };
    });

    auto h = std::make_shared<VerbOptions>();
    auto to = std::make_shared<std::string>();
    auto* handover = root.add_subcommand("handover", "hand the driver's seat to another developer");
    add_request_argument(*handover, *h);
    handover->add_option("--to", *to, "the new driver's email")->required();
    handover->callback([&action, h, to] {
        action = [h, to] {
            ApiClient client(h->flags);
            auto state = client.post(request_path(h->request, "/handover"), {{"to", *to}});
            return report_step(h->flags, state,
                               *to + " now drives request #" + std::to_string(h->request));
        };
    });
}

}  // namespace datafix::cli
