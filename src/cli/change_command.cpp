// `datafix change`: the driver attaches the change file, the verify file and the expected row
// counts; the server's SQL guard must accept them. Each call is a new revision, which voids every
// approval and starts again at the first environment. When environments still hold an earlier
// revision's change, the new revision is attached only with the driver's confirmation
// (--revert-first, or yes at the prompt); then those environments are reverted, latest first,
// each after the pair approved its revert, before the new revision runs anywhere.
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/request_view.hpp"
#include "cli/verb_support.hpp"

namespace datafix::cli {

namespace {

struct ChangeOptions {
    VerbOptions verb;
    std::string change_file;
    std::string verify_file;
    std::vector<long long> expect;
    bool all_rows = false;
    bool revert_first = false;
    bool no_wait = false;
};

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Error(ErrorCode::invalid_input, "cannot read " + path, "check the path");
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string base_name(const std::string& path) {
    auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool confirmed(const std::string& question) {
    std::cout << question << " [y/N] " << std::flush;
    std::string answer;
    std::getline(std::cin, answer);
    return answer == "y" || answer == "Y" || answer == "yes";
}

bool reverting_for_revision(const nlohmann::json& next) {
    const std::string step = next.value("step", "");
    return !next.value("environment", "").empty() &&
           (step == "approve-revert" || step == "revert" ||
            (step == "pair" && next.value("what", "").find("revert") != std::string::npos) ||
            (step == "running" && next.value("what", "").find("revert") != std::string::npos));
}

// Reverts each environment that still holds an earlier revision, latest first, as the workflow
// names them: the driver's own step when the pair approved it, else waiting for that approval
// (the pair is notified) unless --no-wait.
int revert_held(ApiClient& client, const ChangeOptions& o, nlohmann::json state,
                const Style& style) {
    std::string waited_for;
    while (reverting_for_revision(state["next"])) {
        const nlohmann::json& next = state["next"];
        const std::string env = text(next["environment"]);
        if (next.value("step", "") == "revert") {
            auto result =
                client.post(request_path(o.verb.request, "/environments/" + env + "/revert"),
                            nlohmann::json::object());
            std::cout << style.green("✓ ") << "reverted " << env << ": " << text(result["status"])
                      << " (run " << text(result["run"]) << ")\n";
            waited_for.clear();
        } else {
            if (waited_for != next.value("what", "")) {
                waited_for = next.value("what", "");
                std::cout << "  waiting: " << waited_for << " — " << next_step_owner(next) << "\n";
            }
            if (o.no_wait) {
                std::cout << "  then: datafix revert " << o.verb.request << " " << env << "\n";
                return 0;
            }
            std::this_thread::sleep_for(std::chrono::seconds(2));
        }
        state = client.get(request_path(o.verb.request));
    }
    std::cout << style.green("✓ ") << "no environment holds an earlier revision: next, "
              << text(state["next"]["what"]) << "\n";
    return 0;
}

}  // namespace

void register_change(CLI::App& root, Action& action) {
    auto o = std::make_shared<ChangeOptions>();
    auto* cmd = root.add_subcommand(
        "change", "attach the change and verify files as a new revision (driver only)");
    add_request_argument(*cmd, o->verb);
    cmd->add_option("--change,-c", o->change_file, "the change file (INSERT/UPDATE/DELETE/MERGE)")
        ->required()
        ->check(CLI::ExistingFile);
    cmd->add_option("--verify", o->verify_file, "read-only SELECTs the pair looks at")
        ->check(CLI::ExistingFile);
    cmd->add_option("--expect", o->expect, "expected row count of each statement, e.g. 1,1")
        ->required()
        ->delimiter(',');
    cmd->add_flag("--all-rows", o->all_rows,
                  "declare that a statement deliberately touches every row of its table");
    cmd->add_flag("--revert-first", o->revert_first,
                  "environments that still hold an earlier revision are reverted first (each "
                  "approved by the pair), then the new revision starts at the first environment");
    cmd->add_flag("--no-wait", o->no_wait,
                  "with --revert-first: do not wait for the pair's approval of a revert");
    cmd->callback([&action, o] {
        action = [o] {
            ApiClient client(o->verb.flags);
            nlohmann::json body = {{"change_sql", read_file(o->change_file)},
                                   {"change_name", base_name(o->change_file)},
                                   {"expected", o->expect},
                                   {"all_rows", o->all_rows}};
            if (!o->verify_file.empty()) {
                body["verify_sql"] = read_file(o->verify_file);
                body["verify_name"] = base_name(o->verify_file);
            }
            body["revert_first"] = o->revert_first;
            nlohmann::json state;
            try {
                state = client.post(request_path(o->verb.request, "/revisions"), body);
            } catch (const ApiFailure& failure) {
                // The offer: put the held environments back first, on confirmation.
                const bool offer = failure.rule() == "revision-needs-revert" &&
                                   !o->verb.flags.json() && !o->revert_first &&
                                   ::isatty(STDIN_FILENO) == 1;
                if (offer) {
                    std::cout << failure.message() << "\n";
                }
                if (offer && confirmed("Revert them first (the pair approves each revert), then "
                                       "attach the new revision?")) {
                    o->revert_first = true;
                    body["revert_first"] = true;
                    state = client.post(request_path(o->verb.request, "/revisions"), body);
                } else {
                    if (!o->verb.flags.json()) {
                        print_guard_details(failure.details(), Style(o->verb.flags));
                    }
                    throw;
                }
            }
            if (o->verb.flags.json()) {
                print_json(state);
                return 0;
            }
            Style style(o->verb.flags);
            const auto& rev = state["revision"];
            std::cout << style.green("✓ ") << "revision " << text(rev["number"])
                      << " attached to request #" << o->verb.request << "\n"
                      << "  sha256 " << text(rev["hash"]) << "\n";
            int i = 1;
            for (const auto& s : rev["statements"]) {
                std::cout << "  " << i++ << ". " << text(s["normalized"]) << "   "
                          << style.dim("expect " + text(s["expected_rows"]) + " rows") << "\n";
            }
            print_consequences(state["consequences"], style);
            if (o->revert_first) {
                return revert_held(client, *o, state, style);
            }
            return 0;
        };
    });
}

}  // namespace datafix::cli
