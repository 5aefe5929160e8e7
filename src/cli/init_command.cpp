// `datafix init`: the first run of a server — creates the ledger, the key file (0600) and the
// first administrator, whose token is printed once.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "ledger/first_run.hpp"
#include "server/config.hpp"

namespace datafix::cli {

namespace {
struct InitOptions {
    std::string config;
    std::string email;
    std::string name;
    std::string output = "human";
};
}  // namespace

void register_init(CLI::App& root, Action& action) {
    auto o = std::make_shared<InitOptions>();
    auto* cmd = root.add_subcommand(
        "init", "create the ledger, the key file and the first administrator (prints a token)");
    cmd->add_option("--config", o->config, "datafix.toml")->required();
    cmd->add_option("--admin-email", o->email, "the first administrator's email")->required();
    cmd->add_option("--admin-name", o->name, "the first administrator's name")->required();
    cmd->add_option("--output,-o", o->output, "human or json")
        ->check(CLI::IsMember({"human", "json"}));
    cmd->callback([&action, o] {
        action = [o] {
            server::Config config = server::Config::load(o->config);
            std::filesystem::create_directories(config.server.data_dir);
            ledger::FirstRunOptions options;
            options.ledger_url = config.server.ledger_url;
            options.key_file = config.server.key_file;
            options.admin = {o->name, o->email, model::Role::admin};
            options.now = model::wall_clock_now();
            ledger::FirstRunResult result = ledger::initialize(options);
            if (o->output == "json") {
                print_json({{"ledger", config.server.ledger_url},
                            {"key_file", config.server.key_file},
                            {"schema_version", result.schema_version},
                            {"admin",
                             {{"id", result.admin.person.id},
                              {"name", result.admin.person.name},
                              {"email", result.admin.person.email}}},
                            {"token", result.admin.token}});
                return 0;
            }
            std::cout << "ledger     " << config.server.ledger_url << " (schema "
                      << result.schema_version << ")\n"
                      << "key file   " << config.server.key_file << " (mode 0600; back it up: "
                      << "without it the ledger's private text cannot be read)\n"
                      << "admin      " << result.admin.person.name << " <"
                      << result.admin.person.email << ">\n"
                      << "token      " << result.admin.token << "\n"
                      << "the token is shown once; sign in with: datafix login --token <token>\n";
            return 0;
        };
    });
}

}  // namespace datafix::cli
