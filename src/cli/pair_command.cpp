// `datafix pair`: a second developer joins a request as the pair (or leaves with --leave).
#include "cli/commands.hpp"
#include "cli/verb_support.hpp"

namespace datafix::cli {

void register_pair(CLI::App& root, Action& action) {
    auto o = std::make_shared<VerbOptions>();
    auto leave = std::make_shared<bool>(false);
    auto* cmd = root.add_subcommand("pair", "join a request as the pair (never the driver)");
    add_request_argument(*cmd, *o);
    cmd->add_flag("--leave", *leave, "leave the request; your pending approvals are voided");
    cmd->callback([&action, o, leave] {
        action = [o, leave] {
            ApiClient client(o->flags);
            auto state = client.post(request_path(o->request, *leave ? "/leave" : "/pair"),
                                     nlohmann::json::object());
            return report_step(o->flags, state,
                               std::string(*leave ? "you left" : "you pair on") + " request #" +
                                   std::to_string(o->request));
        };
    });
}

}  // namespace datafix::cli
