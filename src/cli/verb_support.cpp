// Shared verb plumbing: arguments, paths, step answers.
#include "cli/verb_support.hpp"

#include <iostream>

#include "cli/output.hpp"
#include "cli/request_view.hpp"
#include "workflow/decision.hpp"

namespace datafix::cli {

void add_request_argument(CLI::App& command, VerbOptions& options) {
    command.add_option("request", options.request, "the change request's number")->required();
    add_client_flags(command, options.flags);
}

std::string request_path(long long number, const std::string& rest) {
    return "/api/requests/" + std::to_string(number) + rest;
}

int report_step(const ClientFlags& flags, const nlohmann::json& state, const std::string& message,
                bool show_request) {
    if (flags.json()) {
        print_json(state);
        return 0;
    }
    Style style(flags);
    std::cout << style.green("✓ ") << message << "\n";
    if (show_request) {
        print_request(state, style);
    }
    return 0;
}

const nlohmann::json& environment_progress(const nlohmann::json& state, const std::string& name) {
    std::vector<std::string> names;
    for (const auto& e : state["progress"]["environments"]) {
        if (e.value("name", "") == name) {
            return e;
        }
        names.push_back(e.value("name", ""));
    }
    workflow::Refusal refusal = workflow::unknown_environment(name, names);
    throw ApiFailure(refusal.code, refusal.rule, refusal.message, refusal.hint, nullptr);
}

}  // namespace datafix::cli
