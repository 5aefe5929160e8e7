// `datafix list`: the requests, newest first, with their driver and pair.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/verb_support.hpp"

namespace datafix::cli {

void register_list(CLI::App& root, Action& action) {
    auto flags = std::make_shared<ClientFlags>();
    auto status = std::make_shared<std::string>();
    auto* cmd = root.add_subcommand("list", "list change requests");
    cmd->add_option("--status", *status, "open, done or cancelled")
        ->check(CLI::IsMember({"open", "done", "cancelled"}));
    add_client_flags(*cmd, *flags);
    cmd->callback([&action, flags, status] {
        action = [flags, status] {
            ApiClient client(*flags);
            auto body = client.get("/api/requests" + (status->empty() ? "" : "?status=" + *status));
            if (flags->json()) {
                print_json(body);
                return 0;
            }
            Style style(*flags);
            Table t({"#", "STATUS", "TITLE", "REQUESTED BY", "DATE", "DRIVER", "PAIR", "REV"});
            for (const auto& r : body["requests"]) {
                t.add({text(r["number"]), text(r["status"]), text(r["title"]),
                       r["requested_by"].value("name", "-"), text(r["requested_date"]),
                       r["driver"].is_object() ? r["driver"].value("name", "-") : "-",
                       r["pair"].is_object() ? r["pair"].value("name", "-") : "-",
                       text(r["revision"])});
            }
            if (t.empty()) {
                std::cout << "no requests\n";
            } else {
                t.print(std::cout, style);
            }
            return 0;
        };
    });
}

}  // namespace datafix::cli
