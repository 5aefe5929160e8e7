// Register functions of every subcommand; each is defined in its own <name>_command.cpp.
#pragma once

#include "cli/app.hpp"

namespace datafix::cli {

void register_check(CLI::App& root, Action& action);

}  // namespace datafix::cli
