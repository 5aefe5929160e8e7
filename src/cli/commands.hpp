// Register functions of every subcommand; each is defined in its own <name>_command.cpp.
#pragma once

#include "cli/app.hpp"

namespace datafix::cli {

void register_check(CLI::App& root, Action& action);
void register_init(CLI::App& root, Action& action);
void register_server(CLI::App& root, Action& action);
void register_login(CLI::App& root, Action& action);
void register_logout(CLI::App& root, Action& action);
void register_users(CLI::App& root, Action& action);
void register_request(CLI::App& root, Action& action);
void register_claim(CLI::App& root, Action& action);
void register_pair(CLI::App& root, Action& action);
void register_change(CLI::App& root, Action& action);
void register_runs(CLI::App& root, Action& action);
void register_live(CLI::App& root, Action& action);
void register_approve(CLI::App& root, Action& action);
void register_cancel(CLI::App& root, Action& action);
void register_comment(CLI::App& root, Action& action);
void register_request_changes(CLI::App& root, Action& action);
void register_show(CLI::App& root, Action& action);
void register_list(CLI::App& root, Action& action);
void register_inbox(CLI::App& root, Action& action);
void register_watch(CLI::App& root, Action& action);
void register_audit(CLI::App& root, Action& action);
void register_preflight(CLI::App& root, Action& action);
void register_backup(CLI::App& root, Action& action);

}  // namespace datafix::cli
