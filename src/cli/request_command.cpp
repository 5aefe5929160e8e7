// `datafix request`: files a change request (a product owner, or a developer on a product
// owner's behalf with --for).
#include <iostream>

#include "cli/commands.hpp"
#include "cli/verb_support.hpp"

namespace datafix::cli {

namespace {
struct RequestOptions {
    ClientFlags flags;
    std::string title;
    std::string reason;
    std::string requested_by;
    std::string date;
    std::string ticket;
};
}  // namespace

void register_request(CLI::App& root, Action& action) {
    auto o = std::make_shared<RequestOptions>();
    auto* cmd = root.add_subcommand("request", "file a change request for a product owner");
    cmd->add_option("--title", o->title, "what should change, in a few words")->required();
    cmd->add_option("--reason", o->reason, "why (no private values: they belong in the change)")
        ->required();
    cmd->add_option("--for", o->requested_by,
                    "the requesting product owner's email (default: you, as product owner)");
    cmd->add_option("--date", o->date, "the date the product owner asked for, YYYY-MM-DD");
    cmd->add_option("--ticket", o->ticket, "link to the ticket or email thread");
    add_client_flags(*cmd, o->flags);
    cmd->callback([&action, o] {
        action = [o] {
            ApiClient client(o->flags);
            nlohmann::json body = {{"title", o->title},
                                   {"reason", o->reason},
                                   {"requested_date", o->date},
                                   {"ticket", o->ticket}};
            if (!o->requested_by.empty()) {
                body["requested_by"] = o->requested_by;
            }
            nlohmann::json state = client.post("/api/requests", body);
            return report_step(
                o->flags, state,
                "request #" + std::to_string(state.value("number", 0)) + " filed: " + o->title);
        };
    });
}

}  // namespace datafix::cli
