// `datafix change`: the driver attaches the change file, the verify file and the expected row
// counts; the server's SQL guard must accept them. Each call is a new revision, which voids every
// approval and starts again at the first environment.
#include <fstream>
#include <iostream>
#include <sstream>

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
            nlohmann::json state;
            try {
                state = client.post(request_path(o->verb.request, "/revisions"), body);
            } catch (const ApiFailure& failure) {
                if (!o->verb.flags.json()) {
                    print_guard_details(failure.details(), Style(o->verb.flags));
                }
                throw;
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
            return 0;
        };
    });
}

}  // namespace datafix::cli
