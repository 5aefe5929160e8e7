// `datafix watch`: follows a request live (server-sent events), as the runbook's pair watched
// the driver's shared screen. One line per step; --output json prints each event as JSON.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/request_view.hpp"
#include "cli/verb_support.hpp"

namespace datafix::cli {

void register_watch(CLI::App& root, Action& action) {
    auto o = std::make_shared<VerbOptions>();
    auto max_events = std::make_shared<int>(0);
    auto* cmd = root.add_subcommand("watch", "follow a request live: every step as it happens");
    add_request_argument(*cmd, *o);
    cmd->add_option("--max-events", *max_events, "stop after this many events (0: never)");
    cmd->callback([&action, o, max_events] {
        action = [o, max_events] {
            ApiClient client(o->flags);
            Style style(o->flags);
            std::string buffer;
            int seen = 0;
            client.stream(request_path(o->request, "/events"), [&](std::string_view chunk) {
                buffer.append(chunk);
                std::size_t end;
                while ((end = buffer.find("\n\n")) != std::string::npos) {
                    std::string frame = buffer.substr(0, end);
                    buffer.erase(0, end + 2);
                    std::size_t data = frame.find("data: ");
                    if (data == std::string::npos) {
                        continue;  // a keep-alive comment
                    }
                    std::string payload = frame.substr(data + 6);
                    payload = payload.substr(0, payload.find('\n'));
                    auto event = nlohmann::json::parse(payload, nullptr, false);
                    if (event.is_discarded()) {
                        continue;
                    }
                    if (o->flags.json()) {
                        std::cout << event.dump() << std::endl;
                    } else {
                        std::cout << describe_event(event, style) << std::endl;
                    }
                    if (event.value("type", "") != "watching" && *max_events > 0 &&
                        ++seen >= *max_events) {
                        return false;
                    }
                }
                return true;
            });
            return 0;
        };
    });
}

}  // namespace datafix::cli
