// `datafix approve | approve-prod | approve-revert`: the approvals. Each names exactly what it
// approves — the revision hash and, for the pair, the evidence fingerprint — after showing it.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/request_view.hpp"
#include "cli/verb_support.hpp"

namespace datafix::cli {

namespace {

struct ApproveOptions {
    VerbOptions verb;
    std::string revision;
    std::string fingerprint;
};

}  // namespace

void register_approve(CLI::App& root, Action& action) {
    auto o = std::make_shared<ApproveOptions>();
    auto* cmd = root.add_subcommand("approve",
                                    "as the pair, approve the latest preview's evidence on an "
                                    "environment (an open live run: commit it)");
    add_request_argument(*cmd, o->verb);
    cmd->add_option("environment", o->verb.environment, "dev, test, prod")->required();
    cmd->add_option("--revision", o->revision, "the revision hash (default: the current one)");
    cmd->add_option("--evidence", o->fingerprint,
                    "the evidence fingerprint (default: the latest preview's)");
    cmd->callback([&action, o] {
        action = [o] {
            ApiClient client(o->verb.flags);
            auto state = client.get(request_path(o->verb.request));
            const nlohmann::json* env = &environment_progress(state, o->verb.environment);
            std::string revision =
                o->revision.empty() ? state["progress"].value("revision_hash", "") : o->revision;
            // An open live run shows the evidence: approving it commits that transaction.
            const bool live = env->contains("live");
            const nlohmann::json no_live = nlohmann::json::object();
            const nlohmann::json& open = live ? (*env)["live"] : no_live;
            std::string fingerprint = !o->fingerprint.empty() ? o->fingerprint
                                      : live                  ? open.value("fingerprint", "")
                                                              : env->value("fingerprint", "");
            int run = live ? open.value("run", 0) : env->value("preview_run", 0);
            if (live && !o->verb.flags.json()) {
                std::cout << "live run " << run << " on " << o->verb.environment
                          << " is open until " << text(open["deadline"]) << " ("
                          << text(open["seconds_left"]) << " s left); your approval commits it\n";
            }
            Style style(o->verb.flags);
            if (!o->verb.flags.json() && run != 0) {
                std::cout << "what you approve on " << o->verb.environment << " (run " << run
                          << "):\n";
                auto images = client.get(
                    request_path(o->verb.request, "/runs/" + std::to_string(run) + "/images"));
                if (images.contains("evidence")) {
                    print_evidence(images["evidence"], style);
                }
                print_images(images, style);
            }
            auto after = client.post(
                request_path(o->verb.request, "/environments/" + o->verb.environment + "/approve"),
                {{"revision_hash", revision}, {"fingerprint", fingerprint}});
            if (live) {
                return report_step(o->verb.flags, after,
                                   "you approved live run " + std::to_string(run) + " on " +
                                       o->verb.environment + ": " + text(after["status"]) +
                                       (after.contains("xid") ? " (xid " + text(after["xid"]) + ")"
                                                              : std::string()),
                                   false);
            }
            return report_step(o->verb.flags, after,
                               "you approved evidence " + short_hash(fingerprint) +
                                   " of revision " + short_hash(revision) + " on " +
                                   o->verb.environment);
        };
    });

    auto p = std::make_shared<ApproveOptions>();
    auto* prod = root.add_subcommand(
        "approve-prod",
        "as the requesting product owner, approve the change for production after test");
    add_request_argument(*prod, p->verb);
    prod->add_option("--revision", p->revision,
                     "the revision hash you checked in test (default: the current one)");
    prod->callback([&action, p] {
        action = [p] {
            ApiClient client(p->verb.flags);
            std::string revision = p->revision;
            if (revision.empty()) {
                revision = client.get(request_path(p->verb.request))["progress"].value(
                    "revision_hash", "");
            }
            auto after = client.post(request_path(p->verb.request, "/approve-production"),
                                     {{"revision_hash", revision}});
            return report_step(p->verb.flags, after,
                               "you approved revision " + short_hash(revision) + " for production");
        };
    });

    auto r = std::make_shared<ApproveOptions>();
    auto* revert = root.add_subcommand(
        "approve-revert", "as the pair, approve reverting a production environment (emergency)");
    add_request_argument(*revert, r->verb);
    revert->add_option("environment", r->verb.environment, "the production environment")
        ->required();
    revert->add_option("--revision", r->revision, "the revision hash (default: the current one)");
    revert->callback([&action, r] {
        action = [r] {
            ApiClient client(r->verb.flags);
            std::string revision = r->revision;
            if (revision.empty()) {
                revision = client.get(request_path(r->verb.request))["progress"].value(
                    "revision_hash", "");
            }
            auto after =
                client.post(request_path(r->verb.request, "/environments/" + r->verb.environment +
                                                              "/approve-revert"),
                            {{"revision_hash", revision}});
            return report_step(r->verb.flags, after,
                               "you approved reverting " + r->verb.environment);
        };
    });
}

}  // namespace datafix::cli
