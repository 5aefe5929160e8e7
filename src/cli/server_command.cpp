// `datafix server --config datafix.toml`: the HTTP API and the executor (or, with
// --check-config, a check of the configuration against the environments); and the hidden
// `datafix guard-worker` the server starts to analyse uploaded SQL out of its own process.
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "server/config.hpp"
#include "server/config_check.hpp"
#include "server/guard_worker.hpp"
#include "server/server.hpp"

namespace datafix::cli {

namespace {

// Prints the report; the exit status is the first failed check's (0 when all passed).
int check_configuration(const server::Config& config, bool json) {
    auto sections = server::check_configuration(config);
    if (json) {
        std::cout << server::to_json(sections).dump(2) << "\n";
    } else {
        std::cout << server::describe(sections);
    }
    for (const auto& s : sections) {
        if (!s.ok()) {
            return exit_status(server::first_failure(sections));
        }
    }
    return 0;
}

}  // namespace

void register_server(CLI::App& root, Action& action) {
    auto config = std::make_shared<std::string>();
    auto* cmd = root.add_subcommand("server", "serve the API and run the guarded sessions");
    auto instance = std::make_shared<std::string>();
    cmd->add_option("--config", *config, "datafix.toml")->required();
    cmd->add_option(
        "--instance", *instance,
        "this server's name among those sharing a ledger (overrides [server] instance)");
    auto check = std::make_shared<bool>(false);
    auto output = std::make_shared<std::string>("text");
    cmd->add_flag("--check-config", *check,
                  "check the file and, per environment, the client, leader, pin, login and role; "
                  "changes nothing and serves nothing");
    cmd->add_option("--output", *output, "report format of --check-config")
        ->check(CLI::IsMember({"text", "json"}));
    cmd->callback([&action, config, instance, check, output] {
        action = [config, instance, check, output] {
            server::Config loaded = server::Config::load(*config);
            if (!instance->empty()) {
                loaded.server.instance = *instance;
            }
            if (*check) {
                return check_configuration(loaded, *output == "json");
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
