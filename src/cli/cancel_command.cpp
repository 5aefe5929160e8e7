// `datafix cancel`: stops a request before production.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/request_view.hpp"
#include "cli/verb_support.hpp"

namespace datafix::cli {

void register_cancel(CLI::App& root, Action& action) {
    auto o = std::make_shared<VerbOptions>();
    auto reason = std::make_shared<std::string>();
    auto* cmd = root.add_subcommand("cancel", "cancel a request (any time before production)");
    add_request_argument(*cmd, *o);
    cmd->add_option("--reason", *reason, "why (kept out of the audit trail; only its hash)");
    cmd->callback([&action, o, reason] {
        action = [o, reason] {
            ApiClient client(o->flags);
            auto state = client.post(request_path(o->request, "/cancel"), {{"reason", *reason}});
            if (o->flags.json()) {
                print_json(state);
                return 0;
            }
            Style style(o->flags);
            std::cout << style.green("✓ ") << "request #" << o->request << " cancelled\n";
            print_consequences(state["consequences"], style);
            if (!state["consequences"]["held"].empty()) {
                std::cout << "  the driver puts it back: datafix revert " << o->request
                          << " ENVIRONMENT\n";
            }
            return 0;
        };
    });
}

}  // namespace datafix::cli
