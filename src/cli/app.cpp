// CLI entry: subcommand registry, error reporting, exit statuses.
#include "cli/app.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <iostream>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/version.hpp"

namespace datafix::cli {

namespace {
constexpr std::array<Register, 23> kCommands = {
    &register_check,   &register_init,
    &register_server,  &register_login,
    &register_logout,  &register_users,
    &register_request, &register_claim,
    &register_pair,    &register_change,
    &register_runs,    &register_backup,
    &register_approve, &register_cancel,
    &register_show,    &register_list,
    &register_inbox,   &register_watch,
    &register_audit,   &register_preflight,
    &register_comment, &register_request_changes,
    &register_live,
};

void build(CLI::App& root, Action& action) {
    root.set_version_flag("--version", std::string("datafix ") + datafix::version());
    root.require_subcommand(1);
    for (Register r : kCommands) {
        r(root, action);
    }
}

std::vector<const CLI::App*> verbs_of(const CLI::App& app) {
    return app.get_subcommands([](const CLI::App*) { return true; });
}

std::vector<std::string> names_of(const CLI::App& app) {
    std::vector<std::string> names;
    for (const CLI::App* sub : verbs_of(app)) {
        names.push_back(sub->get_name());
    }
    return names;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            const std::size_t swap = a[i - 1] == b[j - 1] ? 0 : 1;
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + swap});
            diagonal = above;
        }
    }
    return row[b.size()];
}

// CLI11 answers a mistyped verb with "A subcommand is required" or "arguments were not
// expected": name the verb that was meant instead. Checks the first word after each level that
// needs a verb (datafix VERB, datafix users VERB); options come after verbs in every command.
void check_verbs(const CLI::App& root, int argc, char** argv) {
    const CLI::App* level = &root;
    std::string prefix = "datafix";
    for (int i = 1; i < argc; ++i) {
        const std::string word = argv[i];
        if (word.empty() || word[0] == '-' || verbs_of(*level).empty()) {
            return;
        }
        std::vector<std::string> verbs = names_of(*level);
        if (std::find(verbs.begin(), verbs.end(), word) != verbs.end()) {
            level = level->get_subcommand(word);
            prefix += " " + word;
            continue;
        }
        std::string near = nearest_verb(word, verbs);
        std::string all;
        for (const std::string& v : verbs) {
            all += (all.empty() ? "" : ", ") + v;
        }
        throw Error(ErrorCode::usage, "unknown command '" + prefix + " " + word + "'",
                    near.empty() ? "the commands are: " + all + " (" + prefix + " --help)"
                                 : "did you mean '" + prefix + " " + near + "'? (" + prefix + " " +
                                       near + " --help)");
    }
}

}  // namespace

std::vector<std::string> command_names() {
    CLI::App root;
    Action action;
    build(root, action);
    std::vector<std::string> names;
    for (const CLI::App* verb : verbs_of(root)) {
        names.push_back(verb->get_name());
        for (const CLI::App* nested : verbs_of(*verb)) {
            names.push_back(verb->get_name() + " " + nested->get_name());
        }
    }
    return names;
}

std::string nearest_verb(const std::string& typed, const std::vector<std::string>& verbs) {
    std::string best;
    std::size_t best_distance = 0;
    for (const std::string& verb : verbs) {
        const std::size_t d = edit_distance(typed, verb);
        if (best.empty() || d < best_distance) {
            best = verb;
            best_distance = d;
        }
    }
    // Close means a typo (a third of the word at most) or the start of a verb ("appr").
    const bool typo = best_distance <= std::max<std::size_t>(2, (typed.size() + 2) / 3);
    for (const std::string& verb : verbs) {
        if (!typo && typed.size() >= 3 && verb.starts_with(typed)) {
            return verb;
        }
    }
    return typo ? best : std::string();
}

std::string parse_problem(const std::vector<std::string>& words) {
    CLI::App root{"datafix"};
    Action action;
    build(root, action);
    std::vector<std::string> argv_words = {"datafix"};
    argv_words.insert(argv_words.end(), words.begin(), words.end());
    std::vector<char*> argv;
    argv.reserve(argv_words.size());
    for (std::string& w : argv_words) {
        argv.push_back(w.data());
    }
    try {
        check_verbs(root, static_cast<int>(argv.size()), argv.data());
        root.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const Error& e) {
        return e.describe();
    } catch (const CLI::ParseError& e) {
        return e.get_name() + ": " + e.what();
    }
    return {};
}

int run(int argc, char** argv) {
    CLI::App root{"datafix: guarded, four-eyes data changes on PostgreSQL"};
    Action action;
    build(root, action);
    try {
        check_verbs(root, argc, argv);
    } catch (const Error& e) {
        std::cerr << "datafix: " << e.describe() << "\n";
        return exit_status(e.code());
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
