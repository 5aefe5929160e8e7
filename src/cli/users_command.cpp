// `datafix users add | list | deactivate | activate | rotate-token | set-role | confirm`: people
// and their tokens (an administrator's job; anyone may rotate their own token; a second admin
// confirms an account another admin created, with [auth] confirm_accounts). A token is printed
// once, with its scope (--scope read: reading only, no steps) and expiry (--days, at most the
// server's token lifetime).
#include <iostream>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/verb_support.hpp"

namespace datafix::cli {

namespace {

struct UserOptions {
    ClientFlags flags;
    std::string name;
    std::string email;
    std::string role;
    std::string who;  // id or email
    std::string scope = "full";
    int days = 0;  // 0: the server's token lifetime
};

void add_token_options(CLI::App& cmd, UserOptions& o) {
    cmd.add_option("--scope", o.scope, "full, or read (a token that can only read)")
        ->check(CLI::IsMember({"full", "read"}));
    cmd.add_option("--days", o.days, "days the token works (default: the server's lifetime)")
        ->check(CLI::Range(1, 3650));
}

nlohmann::json token_body(const UserOptions& o) {
    nlohmann::json body = {{"scope", o.scope}};
    if (o.days > 0) {
        body["days"] = o.days;
    }
    return body;
}

// A person named by id or email, as an id.
long long user_id(ApiClient& client, const std::string& who) {
    if (!who.empty() && who.find_first_not_of("0123456789") == std::string::npos) {
        return std::stoll(who);
    }
    // Held: a range-for over a member of the temporary answer would read freed memory.
    const nlohmann::json listed = client.get("/api/users");
    for (const auto& u : listed["users"]) {
        if (u.value("email", "") == who) {
            return u.value("id", 0LL);
        }
    }
    throw Error(ErrorCode::not_found, "no user " + who, "see datafix users list");
}

int print_token(const ClientFlags& flags, const nlohmann::json& body) {
    if (flags.json()) {
        print_json(body);
        return 0;
    }
    const auto& u = body["user"];
    std::cout << text(u["name"]) << " <" << text(u["email"]) << ">, " << text(u["role"]) << ", id "
              << text(u["id"]) << "\n"
              << "token (shown once; store it now): " << text(body["token"]) << "\n"
              << "scope " << text(u["token_scope"]) << ", expires " << text(u["token_expires_at"])
              << "\n";
    return 0;
}

}  // namespace

void register_users(CLI::App& root, Action& action) {
    auto* users = root.add_subcommand("users", "people and their tokens");
    users->require_subcommand(1);

    auto a = std::make_shared<UserOptions>();
    auto* add = users->add_subcommand("add", "create a person and print their token once");
    add->add_option("--name", a->name, "full name")->required();
    add->add_option("--email", a->email, "email address")->required();
    add->add_option("--role", a->role, "developer, product_owner or admin")
        ->required()
        ->check(CLI::IsMember({"developer", "product_owner", "admin"}));
    add_token_options(*add, *a);
    add_client_flags(*add, a->flags);
    add->callback([&action, a] {
        action = [a] {
            ApiClient client(a->flags);
            nlohmann::json body = token_body(*a);
            body["name"] = a->name;
            body["email"] = a->email;
            body["role"] = a->role;
            return print_token(a->flags, client.post("/api/users", body));
        };
    });

    auto l = std::make_shared<UserOptions>();
    auto* list = users->add_subcommand("list", "list people");
    add_client_flags(*list, l->flags);
    list->callback([&action, l] {
        action = [l] {
            ApiClient client(l->flags);
            auto body = client.get("/api/users");
            if (l->flags.json()) {
                print_json(body);
                return 0;
            }
            Table t({"ID", "NAME", "EMAIL", "ROLE", "ACTIVE", "TOKEN", "EXPIRES", "ISSUED BY",
                     "CREATED BY", "CONFIRMED BY"});
            for (const auto& u : body["users"]) {
                t.add({text(u["id"]), text(u["name"]), text(u["email"]), text(u["role"]),
                       u.value("active", false) ? "yes" : "no", text(u["token_scope"]),
                       text(u["token_expires_at"]), text(u["token_issued_by"]),
                       text(u["created_by"]), text(u["confirmed_by"])});
            }
            t.print(std::cout, Style(l->flags));
            return 0;
        };
    });

    for (const char* verb : {"deactivate", "activate"}) {
        auto d = std::make_shared<UserOptions>();
        auto* cmd = users->add_subcommand(
            verb, std::string(verb) == "deactivate"
                      ? "deactivate a person (their token stops working at once)"
                      : "reactivate a person (they need a new token)");
        cmd->add_option("user", d->who, "id or email")->required();
        add_client_flags(*cmd, d->flags);
        std::string name = verb;
        cmd->callback([&action, d, name] {
            action = [d, name] {
                ApiClient client(d->flags);
                long long id = user_id(client, d->who);
                auto body = client.post("/api/users/" + std::to_string(id) + "/" + name,
                                        nlohmann::json::object());
                return report_step(d->flags, body, d->who + ": " + name + "d");
            };
        });
    }

    auto c = std::make_shared<UserOptions>();
    auto* confirm = users->add_subcommand(
        "confirm", "confirm, as a second admin, an account another admin created");
    confirm->add_option("user", c->who, "id or email")->required();
    add_client_flags(*confirm, c->flags);
    confirm->callback([&action, c] {
        action = [c] {
            ApiClient client(c->flags);
            long long id = user_id(client, c->who);
            auto body = client.post("/api/users/" + std::to_string(id) + "/confirm",
                                    nlohmann::json::object());
            return report_step(c->flags, body,
                               c->who + ": confirmed; it now counts only as " +
                                   body.value("name", c->who) + " for four eyes");
        };
    });

    auto r = std::make_shared<UserOptions>();
    auto* rotate = users->add_subcommand("rotate-token", "issue a new token; the old one stops");
    rotate->add_option("user", r->who, "id or email")->required();
    add_token_options(*rotate, *r);
    add_client_flags(*rotate, r->flags);
    rotate->callback([&action, r] {
        action = [r] {
            ApiClient client(r->flags);
            long long id = user_id(client, r->who);
            return print_token(
                r->flags,
                client.post("/api/users/" + std::to_string(id) + "/rotate-token", token_body(*r)));
        };
    });

    auto sr = std::make_shared<UserOptions>();
    auto* set_role = users->add_subcommand(
        "set-role", "give a person a role (none: they sign in and read, and take no step)");
    set_role->add_option("user", sr->who, "id or email")->required();
    set_role->add_option("role", sr->role, "developer, product_owner, admin or none")
        ->required()
        ->check(CLI::IsMember({"developer", "product_owner", "admin", "none"}));
    add_client_flags(*set_role, sr->flags);
    set_role->callback([&action, sr] {
        action = [sr] {
            ApiClient client(sr->flags);
            long long id = user_id(client, sr->who);
            auto body =
                client.post("/api/users/" + std::to_string(id) + "/role", {{"role", sr->role}});
            return report_step(sr->flags, body, sr->who + ": role " + text(body["role"]));
        };
    });
}

}  // namespace datafix::cli
