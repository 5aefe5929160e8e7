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
    cmd->add_option("--config", *config, "datafix.toml")->required();
    cmd->callback([&action, config] {
        action = [config] { return server::serve(server::Config::load(*config)); };
    });
}

}  // namespace datafix::cli
