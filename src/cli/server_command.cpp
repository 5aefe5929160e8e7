// `datafix server --config datafix.toml`: the HTTP API and the executor; and the hidden
// `datafix guard-worker` the server starts to analyse uploaded SQL out of its own process.
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "server/config.hpp"
#include "server/guard_worker.hpp"
#include "server/server.hpp"

namespace datafix::cli {

void register_server(CLI::App& root, Action& action) {
    auto config = std::make_shared<std::string>();
    auto* cmd = root.add_subcommand("server", "serve the API and run the guarded sessions");
    auto instance = std::make_shared<std::string>();
    cmd->add_option("--config", *config, "datafix.toml")->required();
    cmd->add_option(
        "--instance", *instance,
        "this server's name among those sharing a ledger (overrides [server] instance)");
    cmd->callback([&action, config, instance] {
        action = [config, instance] {
            server::Config loaded = server::Config::load(*config);
            if (!instance->empty()) {
                loaded.server.instance = *instance;
            }
            return server::serve(loaded);
        };
    });

    auto role = std::make_shared<std::string>();
    auto file = std::make_shared<std::string>();
    auto* worker = root.add_subcommand("guard-worker", "analyse SQL on stdin for the server");
    worker->group("");  // not for people: the server runs it
    worker->add_option("--role", *role)->required();
    worker->add_option("--file", *file)->required();
    worker->callback([&action, role, file] {
        action = [role, file] {
            return server::run_guard_worker(*role, *file, std::cin, std::cout);
        };
    });
}

}  // namespace datafix::cli
