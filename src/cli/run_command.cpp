// `datafix preview | apply | revert | resolve`: runs on an environment, executed by the server.
// preview shows the evidence and, to the driver, the before/after diff; apply names the evidence
// the pair approved.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/preflight_view.hpp"
#include "cli/request_view.hpp"
#include "cli/verb_support.hpp"

namespace datafix::cli {

namespace {

void add_environment(CLI::App& cmd, VerbOptions& o) {
    cmd.add_option("environment", o.environment, "dev, test, prod (as configured)")->required();
}

std::string env_path(const VerbOptions& o, const std::string& what) {
    return request_path(o.request, "/environments/" + o.environment + "/" + what);
}

// The latest evidence of the current revision in the environment, as the server reads it.
std::string current_fingerprint(ApiClient& client, const VerbOptions& o) {
    auto state = client.get(request_path(o.request));
    return environment_progress(state, o.environment).value("fingerprint", "");
}

void print_diff(ApiClient& client, const VerbOptions& o, int run, const Style& style) {
    try {
        auto images =
            client.get(request_path(o.request, "/runs/" + std::to_string(run) + "/images"));
        print_images(images, style);
    } catch (const ApiFailure& f) {
        if (f.code() != ErrorCode::forbidden) {
            throw;
        }
    }
}

}  // namespace

void register_runs(CLI::App& root, Action& action) {
    auto p = std::make_shared<VerbOptions>();
    auto no_diff = std::make_shared<bool>(false);
    auto* preview = root.add_subcommand(
        "preview", "rehearse the change on an environment and roll back: counts, images, verify");
    add_request_argument(*preview, *p);
    add_environment(*preview, *p);
    preview->add_flag("--no-diff", *no_diff, "do not print the before/after diff");
    preview->callback([&action, p, no_diff] {
        action = [p, no_diff] {
            ApiClient client(p->flags);
            auto result = client.post(env_path(*p, "preview"), nlohmann::json::object());
            if (p->flags.json()) {
                print_json(result);
                return 0;
            }
            Style style(p->flags);
            print_run_result("preview", std::to_string(p->request), p->environment, result, style);
            if (!*no_diff) {
                print_diff(client, *p, result.value("run", 0), style);
            }
            std::cout << "  the pair approves it with: datafix approve " << p->request << " "
                      << p->environment << "\n";
            return 0;
        };
    });

    auto a = std::make_shared<VerbOptions>();
    auto fingerprint = std::make_shared<std::string>();
    auto* apply = root.add_subcommand(
        "apply", "execute the approved change on an environment and commit if it matches");
    add_request_argument(*apply, *a);
    add_environment(*apply, *a);
    apply->add_option("--evidence", *fingerprint,
                      "the approved evidence's fingerprint (default: the latest preview's)");
    apply->callback([&action, a, fingerprint] {
        action = [a, fingerprint] {
            ApiClient client(a->flags);
            std::string fp = fingerprint->empty() ? current_fingerprint(client, *a) : *fingerprint;
            auto result = client.post(env_path(*a, "apply"), {{"fingerprint", fp}});
            if (a->flags.json()) {
                print_json(result);
                return 0;
            }
            print_run_result("apply", std::to_string(a->request), a->environment, result,
                             Style(a->flags));
            return 0;
        };
    });

    auto r = std::make_shared<VerbOptions>();
    auto* revert = root.add_subcommand(
        "revert", "put back the before-images of an applied environment (conflict-checked)");
    add_request_argument(*revert, *r);
    add_environment(*revert, *r);
    revert->callback([&action, r] {
        action = [r] {
            ApiClient client(r->flags);
            auto result = client.post(env_path(*r, "revert"), nlohmann::json::object());
            if (r->flags.json()) {
                print_json(result);
                return 0;
            }
            print_run_result("revert", std::to_string(r->request), r->environment, result,
                             Style(r->flags));
            return 0;
        };
    });

    auto s = std::make_shared<VerbOptions>();
    auto run = std::make_shared<int>(0);
    auto* resolve = root.add_subcommand(
        "resolve", "establish whether an in-doubt apply or revert committed, and record it");
    add_request_argument(*resolve, *s);
    resolve->add_option("run", *run, "the in-doubt run's number")->required();
    resolve->callback([&action, s, run] {
        action = [s, run] {
            ApiClient client(s->flags);
            auto result =
                client.post(request_path(s->request, "/runs/" + std::to_string(*run) + "/resolve"),
                            nlohmann::json::object());
            return report_step(s->flags, result,
                               "run " + std::to_string(*run) + ": " + text(result["status"]) +
                                   " (" + text(result["resolved_by"]) + ")");
        };
    });
}

}  // namespace datafix::cli
