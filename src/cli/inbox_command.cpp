// `datafix inbox`: what waits on you, the requests you are on, and every open request, each with
// its next step in words and who owns it by name (the server's workflow decides both); then,
// quietly and only when there is some, the done or cancelled requests whose data outside
// production you still put back.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/request_view.hpp"
#include "cli/verb_support.hpp"

namespace datafix::cli {

namespace {

void print_section(const std::string& heading, const nlohmann::json& items, const Style& style,
                   const std::string& none) {
    std::cout << style.bold(heading) << " (" << items.size() << ")\n";
    if (items.empty()) {
        std::cout << "  " << style.dim(none) << "\n\n";
        return;
    }
    Table t({"#", "TITLE", "NEXT STEP", "OWNER", "DATE"});
    for (const auto& r : items) {
        t.add({text(r["number"]), text(r["title"]), text(r["next"]["what"]),
               next_step_owner(r["next"]), text(r["requested_date"])});
    }
    t.print(std::cout, style, "  ");
    std::cout << "\n";
}

}  // namespace

void register_inbox(CLI::App& root, Action& action) {
    auto flags = std::make_shared<ClientFlags>();
    auto* cmd = root.add_subcommand(
        "inbox", "what waits on you, your requests and all open ones, each with its next step");
    add_client_flags(*cmd, *flags);
    cmd->callback([&action, flags] {
        action = [flags] {
            ApiClient client(*flags);
            auto body = client.get("/api/inbox");
            if (flags->json()) {
                print_json(body);
                return 0;
            }
            Style style(*flags);
            print_section("Waiting on you", body["waiting_on_you"], style, "nothing waits on you");
            print_section("Yours", body["yours"], style, "you are on no request");
            print_section("All open", body["open"], style, "no open requests");
            const auto& tidy = body["to_tidy_up"];
            if (tidy.is_array() && !tidy.empty()) {
                std::cout << style.dim("To tidy up (" + std::to_string(tidy.size()) +
                                       "): closed, with data still changed outside production")
                          << "\n";
                for (const auto& r : tidy) {
                    std::cout << "  "
                              << style.dim("#" + text(r["number"]) + " " + text(r["title"]) + " (" +
                                           text(r["status"]) + "): " + text(r["next"]["what"]))
                              << "\n";
                }
                std::cout << "\n";
            }
            return 0;
        };
    });
}

}  // namespace datafix::cli
