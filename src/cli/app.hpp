// The command line: builds the CLI11 tree from every command's register function, runs the chosen
// one, and maps errors to messages and exit statuses (the one place that does so).
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace datafix::cli {

// A command's register function adds its subcommand to the root and, when the subcommand is
// chosen, stores what to run in `action`. The action returns the exit status.
using Action = std::function<int()>;
using Register = void (*)(CLI::App& root, Action& action);

int run(int argc, char** argv);

// Every command line verb, nested ones as "users add", in registration order: what HINTs may name.
std::vector<std::string> command_names();

// The verb nearest to a mistyped one among `verbs` (edit distance), or empty when none is close.
std::string nearest_verb(const std::string& typed, const std::vector<std::string>& verbs);

// Reads a command line (the words after `datafix`) as `run` does — verbs, arguments, options and
// their checks — without running it: empty when it parses, else the message `run` would print.
// Lets tests check that a command a HINT gives is one people can paste.
std::string parse_problem(const std::vector<std::string>& words);

}  // namespace datafix::cli
