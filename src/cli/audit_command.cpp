// `datafix audit` lists the audit trail; `datafix audit verify [--head SEQ:MAC]` walks its keyed
// chain and names the first edited, reordered or deleted entry, or a published head the chain no
// longer holds (exit status 8, conflict, when broken).
#include <iostream>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/verb_support.hpp"

namespace datafix::cli {

void register_audit(CLI::App& root, Action& action) {
    auto o = std::make_shared<ClientFlags>();
    auto request = std::make_shared<long long>(0);
    auto limit = std::make_shared<int>(1000);
    auto* cmd = root.add_subcommand("audit", "the audit trail (hash-chained)");
    cmd->add_option("--request", *request, "only this request's entries");
    cmd->add_option("--limit", *limit, "the newest N entries (printed oldest first)");
    add_client_flags(*cmd, *o);
    cmd->callback([&action, o, request, limit, cmd] {
        if (!cmd->get_subcommands().empty()) {
            return;
        }
        action = [o, request, limit] {
            ApiClient client(*o);
            std::string path = "/api/audit?limit=" + std::to_string(*limit);
            if (*request != 0) {
                path += "&request=" + std::to_string(*request);
            }
            auto body = client.get(path);
            if (o->json()) {
                print_json(body);
                return 0;
            }
            Style style(*o);
            Table t(
                {"SEQ", "AT", "WHO", "ACTION", "REQ", "ENV", "STATEMENT", "EVIDENCE", "DETAIL"});
            for (const auto& e : body["entries"]) {
                t.add({text(e["seq"]), text(e["at"]),
                       e["actor"].is_object() ? e["actor"].value("name", "-") : text(e["actor"]),
                       text(e["action"]), text(e["request"]), text(e["environment"]),
                       short_hash(text(e["statement_hash"])),
                       short_hash(text(e["evidence_fingerprint"])), text(e["detail"])});
            }
            t.print(std::cout, style);
            return 0;
        };
    });

    auto v = std::make_shared<ClientFlags>();
    auto head = std::make_shared<std::string>();
    auto* verify = cmd->add_subcommand("verify", "check the audit chain; names the broken entry");
    verify->add_option("--head", *head,
                       "a head published earlier (SEQ:MAC from a notification or the server "
                       "log): detects a rewritten or truncated trail");
    add_client_flags(*verify, *v);
    verify->callback([&action, v, head] {
        action = [v, head] {
            ApiClient client(*v);
            std::string path = "/api/audit/verify";
            if (!head->empty()) {
                // SEQ:HEX only: nothing to escape but the colon.
                std::string encoded;
                for (char c : *head) {
                    encoded += c == ':' ? std::string("%3A") : std::string(1, c);
                }
                path += "?head=" + encoded;
            }
            auto body = client.get(path);
            bool intact = body.value("intact", false);
            bool verifiable = body.value("verifiable", true);
            if (v->json()) {
                print_json(body);
            } else {
                Style style(*v);
                if (!verifiable) {
                    std::cout << style.red("✗ ")
                              << "audit chain cannot be verified: " << text(body["reason"]) << "\n"
                              << "HINT: give the server its audit key file "
                                 "(server.audit_key_file), restored from your backup\n";
                } else if (intact) {
                    std::cout << style.green("✓ ")
                              << "audit chain intact: " << text(body["entries"]) << " entries";
                    if (body.value("head_checked", false)) {
                        std::cout << ", head " << *head << " found";
                    }
                    std::cout << "\n";
                } else {
                    std::cout << style.red("✗ ") << "audit chain broken at entry "
                              << text(body["seq"]) << ": " << text(body["reason"]) << "\n"
                              << "HINT: restore the ledger from a backup and compare entry "
                              << text(body["seq"]) << "\n";
                }
            }
            if (!verifiable) {
                return exit_status(ErrorCode::config);
            }
            return intact ? 0 : exit_status(ErrorCode::conflict);
        };
    });
}

}  // namespace datafix::cli
