// `datafix request-changes`: the pair or the requesting product owner sends the request back to
// its driver with a reason; pending approvals are voided until the driver previews again or
// attaches a new revision.
#include "cli/commands.hpp"
#include "cli/verb_support.hpp"

namespace datafix::cli {

void register_request_changes(CLI::App& root, Action& action) {
    auto o = std::make_shared<VerbOptions>();
    auto reason = std::make_shared<std::string>();
    auto* cmd = root.add_subcommand(
        "request-changes", "send a request back to its driver (the pair or the product owner)");
    add_request_argument(*cmd, *o);
    cmd->add_option("--reason", *reason, "what should change (for the request's people only)")
        ->required();
    cmd->callback([&action, o, reason] {
        action = [o, reason] {
            ApiClient client(o->flags);
            auto state =
                client.post(request_path(o->request, "/request-changes"), {{"reason", *reason}});
            return report_step(o->flags, state,
                               "request #" + std::to_string(o->request) +
                                   " is back with its driver; pending approvals are voided");
        };
    });
}

}  // namespace datafix::cli
