// `datafix check`: placeholder until the SQL guard lands.
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"

namespace datafix::cli {

void register_check(CLI::App& root, Action& action) {
    auto* cmd = root.add_subcommand("check", "analyse a change file offline (no server, no database)");
    cmd->callback([&action] { action = [] { return 0; }; });
}

}  // namespace datafix::cli
