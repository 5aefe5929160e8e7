// CLI entry: subcommand registry, error reporting, exit statuses.
#include "cli/app.hpp"

#include <CLI/CLI.hpp>

#include <array>
#include <iostream>

#include "cli/commands.hpp"
#include "core/error.hpp"

namespace datafix::cli {

namespace {
constexpr std::array<Register, 18> kCommands = {
    &register_check,
    &register_init,
    &register_server,
    &register_login,
    &register_users,
    &register_request,
    &register_claim,
    &register_pair,
    &register_change,
    &register_runs,
    &register_backup,
    &register_approve,
    &register_cancel,
    &register_show,
    &register_list,
    &register_watch,
    &register_audit,
    &register_preflight,
};
}  // namespace

int run(int argc, char** argv) {
    CLI::App root{"datafix: guarded, four-eyes data changes on PostgreSQL"};
    root.set_version_flag("--version", std::string("datafix ") + DATAFIX_VERSION);
    root.require_subcommand(1);
    Action action;
    for (Register r : kCommands) {
        r(root, action);
    }
    try {
        root.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return root.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return root.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return root.exit(e);
    } catch (const CLI::ParseError& e) {
        root.exit(e);
        return exit_status(ErrorCode::usage);
    }
    try {
        return action ? action() : exit_status(ErrorCode::usage);
    } catch (const Error& e) {
        std::cerr << "datafix: " << e.describe() << "\n";
        return exit_status(e.code());
    } catch (const std::exception& e) {
        std::cerr << "datafix: internal error: " << e.what() << "\n";
        return exit_status(ErrorCode::internal);
    }
}

}  // namespace datafix::cli
