// `datafix server --config datafix.toml`: the HTTP API and the executor.
#include <CLI/CLI.hpp>
#include <memory>

#include "cli/commands.hpp"
#include "server/config.hpp"
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
}

}  // namespace datafix::cli
