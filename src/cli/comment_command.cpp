// `datafix comment`: the request's conversation. With --text, adds a comment; without, prints
// the comments and requests for changes (for the request's people: the text is private).
#include <iostream>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/verb_support.hpp"

namespace datafix::cli {

void register_comment(CLI::App& root, Action& action) {
    auto o = std::make_shared<VerbOptions>();
    auto body = std::make_shared<std::string>();
    auto* cmd = root.add_subcommand(
        "comment", "comment on a request, or read its conversation (without --text)");
    add_request_argument(*cmd, *o);
    cmd->add_option("--text", *body, "the comment (for the request's people only)");
    cmd->callback([&action, o, body] {
        action = [o, body] {
            ApiClient client(o->flags);
            if (!body->empty()) {
                auto state = client.post(request_path(o->request, "/comments"), {{"text", *body}});
                return report_step(o->flags, state,
                                   "comment added to request #" + std::to_string(o->request));
            }
            auto timeline = client.get(request_path(o->request, "/timeline"));
            if (o->flags.json()) {
                print_json(timeline["comments"]);
                return 0;
            }
            Style style(o->flags);
            if (timeline["comments"].empty()) {
                std::cout << "no comments on request #" << o->request << "\n";
            }
            for (const auto& c : timeline["comments"]) {
                const bool changes = c["kind"] == "changes_requested";
                std::cout << style.bold(text(c["at"]) + " " + person_text(c["author"]))
                          << (changes ? " " + style.red("requested changes") : std::string())
                          << "\n  " << text(c["text"]) << "\n";
            }
            return 0;
        };
    });
}

}  // namespace datafix::cli
