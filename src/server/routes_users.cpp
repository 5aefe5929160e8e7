// People: who am I, list, and the admin's create / deactivate / rotate-token (tokens shown once)
// / role.
// A token expires (server.token_lifetime_days, or a shorter "days" in the body) and has a scope
// ("full", or "read": reading only). An admin rotating someone else's token is audited, tells
// the owner (queued in the same transaction), and the new token counts as the admin's too for
// four eyes (workflow/four_eyes_rules.cpp). With [auth] confirm_accounts, an account an admin
// creates counts as that admin's too until a second admin confirms it (POST .../confirm); the
// other admins are told of each new account (workflow/accounts.hpp).
#include "notify/account_notice.hpp"
#include "server/api_error.hpp"
#include "server/route_support.hpp"
#include "server/routes.hpp"
#include "workflow/accounts.hpp"
#include "workflow/decide.hpp"

namespace datafix::server {

namespace {

void require_admin(const model::Person& actor) {
    if (auto refusal = workflow::check_manage_users(actor)) {
        throw_refusal(*refusal);
    }
}

model::AuditEvent event_by(const model::Person& actor, const std::string& action) {
    model::AuditEvent event;
    event.at = model::wall_clock_now();
    event.actor = actor.id;
    event.action = action;
    return event;
}

// "scope" and "days" of a body; the lifetime never exceeds the server's.
model::TokenOptions token_options(const Context& context, const nlohmann::json& body) {
    model::TokenOptions options;
    options.lifetime = context.config().server.token_lifetime;
    std::string scope = string_field(body, "scope", false);
    if (!scope.empty()) {
        auto parsed = model::parse_token_scope(scope);
        if (!parsed) {
            throw ApiError(ErrorCode::invalid_input, "token-scope",
                           "unknown token scope \"" + scope + "\"", "use full or read");
        }
        options.scope = *parsed;
    }
    if (auto days = int_field(body, "days")) {
        const auto wanted = std::chrono::milliseconds(std::chrono::days(*days));
        if (*days < 1 || wanted > options.lifetime) {
            throw ApiError(ErrorCode::invalid_input, "token-days",
                           "a token lives between 1 day and the server's token lifetime",
                           "give days between 1 and server.token_lifetime_days");
        }
        options.lifetime = wanted;
    }
    return options;
}

nlohmann::json issued_json(const model::IssuedToken& issued) {
    return {{"user", person_json(issued.person)},
            {"token", issued.token},
            {"notice", "the token is shown once; it is stored only as a hash"}};
}

}  // namespace

void add_user_routes(Router& http, Context& context) {
    http.Get("/api/me", authed(context, [](const auto&, auto& res, const model::Person& me) {
                 send_json(res, person_json(me));
             }));

    http.Get("/api/users", authed(context, [&context](const auto&, auto& res, const auto&) {
                 auto people =
                     context.with_ledger([](ledger::Ledger& l) { return l.list_users(); });
                 nlohmann::json list = nlohmann::json::array();
                 for (const auto& p : people) {
                     list.push_back(person_json(p));
                 }
                 send_json(res, {{"users", list}});
             }));

    http.Post(
        "/api/users",
        authed(context, [&context](const auto& req, auto& res, const model::Person& actor) {
            require_admin(actor);
            nlohmann::json body = json_body(context, req);
            model::NewPerson person;
            person.name = string_field(body, "name");
            person.email = string_field(body, "email");
            std::string role = string_field(body, "role");
            auto parsed = model::parse_role(role);
            if (!parsed) {
                throw ApiError(ErrorCode::invalid_input, "unknown-role",
                               "unknown role \"" + role + "\"",
                               "use developer, product_owner or admin");
            }
            person.role = *parsed;
            if (person.email.find('@') == std::string::npos) {
                throw ApiError(ErrorCode::invalid_input, "email", "the email has no @");
            }
            const model::TokenOptions options = token_options(context, body);
            ledger::NewAccountMessages messages;
            if (context.config().workflow().confirm_accounts) {
                // The other admins hear of it: one of them is to confirm it.
                auto people = context.with_ledger([](ledger::Ledger& l) { return l.list_users(); });
                messages = [&context, &actor, people](const model::Person& account) {
                    return notify::account_created_notices(context.config().notify, account, actor,
                                                           people);
                };
            }
            auto issued = context.with_ledger([&](ledger::Ledger& l) {
                return l.create_user(person, event_by(actor, "user.created"), options, messages);
            });
            context.forget_people();
            context.log().info("user {} created by user {}", issued.person.id, actor.id);
            send_json(res, issued_json(issued), 201);
        }));

    http.Post(
        R"(/api/users/(\d+)/(deactivate|activate))",
        authed(context, [&context](const auto& req, auto& res, const model::Person& actor) {
            require_admin(actor);
            model::UserId id = path_number(req, 1);
            bool active = path_text(req, 2) == "activate";
            if (id == actor.id && !active) {
                throw ApiError(ErrorCode::rule, "self-deactivate",
                               "an administrator cannot deactivate themselves",
                               "ask another administrator");
            }
            bool found = context.with_ledger([&](ledger::Ledger& l) {
                return l.set_user_active(
                    id, active, event_by(actor, active ? "user.activated" : "user.deactivated"));
            });
            if (!found) {
                throw ApiError(ErrorCode::not_found, "user-not-found",
                               "no user " + std::to_string(id));
            }
            context.forget_people();
            auto person = context.with_ledger([&](ledger::Ledger& l) { return l.find_user(id); });
            send_json(res, person_json(*person));
        }));

    http.Post(R"(/api/users/(\d+)/confirm)",
              authed(context, [&context](const auto& req, auto& res, const model::Person& actor) {
                  require_admin(actor);
                  const model::UserId id = path_number(req, 1);
                  auto account =
                      context.with_ledger([&](ledger::Ledger& l) { return l.find_user(id); });
                  if (!account) {
                      throw ApiError(ErrorCode::not_found, "user-not-found",
                                     "no user " + std::to_string(id), "see datafix users list");
                  }
                  std::optional<model::Person> creator;
                  if (account->created_by != 0) {
                      creator = context.with_ledger(
                          [&](ledger::Ledger& l) { return l.find_user(account->created_by); });
                  }
                  if (auto refusal = workflow::check_account_confirmation(
                          actor, *account, creator.value_or(model::Person{}),
                          context.config().workflow())) {
                      throw_refusal(*refusal);
                  }
                  auto confirmed = context.with_ledger([&](ledger::Ledger& l) {
                      return l.confirm_user(id, event_by(actor, "user.confirmed"));
                  });
                  if (!confirmed) {
                      // Another admin confirmed it in the meantime.
                      throw ApiError(ErrorCode::rule, "account-confirmed-already",
                                     "user " + std::to_string(id) + " was confirmed already",
                                     "see datafix users list");
                  }
                  context.forget_people();
                  context.log().info("user {} confirmed by admin {}", id, actor.id);
                  send_json(res, person_json(*confirmed));
              }));

    http.Post(
        R"(/api/users/(\d+)/rotate-token)",
        authed(context, [&context](const auto& req, auto& res, const model::Person& actor) {
            model::UserId id = path_number(req, 1);
            // Anyone may replace their own token; other people's are the admin's business.
            if (id != actor.id) {
                require_admin(actor);
            }
            const model::TokenOptions options = token_options(context, json_body(context, req));
            std::vector<ledger::NewNotificationRow> notices;
            if (id != actor.id) {
                auto owner =
                    context.with_ledger([&](ledger::Ledger& l) { return l.find_user(id); });
                if (owner) {
                    notices = notify::token_rotated_notices(context.config().notify, *owner, actor);
                }
            }
            auto issued = context.with_ledger([&](ledger::Ledger& l) {
                return l.rotate_token(id, event_by(actor, "user.token_rotated"), options, notices);
            });
            if (!issued) {
                throw ApiError(ErrorCode::not_found, "user-not-found",
                               "no user " + std::to_string(id));
            }
            context.forget_people();
            if (id != actor.id) {
                context.log().warn("token of user {} rotated by admin {}", id, actor.id);
            }
            send_json(res, issued_json(*issued));
        }));

    // An administrator gives a person a role, or takes it ("none": they keep signing in and
    // reading what concerns them). Never their own: an admin cannot demote themselves.
    http.Post(R"(/api/users/(\d+)/role)",
              authed(context, [&context](const auto& req, auto& res, const model::Person& actor) {
                  require_admin(actor);
                  const model::UserId id = path_number(req, 1);
                  const std::string name = string_field(json_body(context, req), "role");
                  const auto role = model::parse_role(name);
                  if (!role) {
                      throw ApiError(ErrorCode::invalid_input, "unknown-role",
                                     "unknown role \"" + name + "\"",
                                     "use developer, product_owner, admin or none");
                  }
                  if (id == actor.id) {
                      throw ApiError(ErrorCode::rule, "self-role",
                                     "an administrator cannot change their own role",
                                     "ask another administrator");
                  }
                  const bool found = context.with_ledger([&](ledger::Ledger& l) {
                      return l.set_user_role(id, *role, event_by(actor, "user.role_changed"));
                  });
                  if (!found) {
                      throw ApiError(ErrorCode::not_found, "user-not-found",
                                     "no user " + std::to_string(id));
                  }
                  context.forget_people();
                  context.log().info("role of user {} set to {} by admin {}", id, name, actor.id);
                  auto person =
                      context.with_ledger([&](ledger::Ledger& l) { return l.find_user(id); });
                  send_json(res, person_json(*person));
              }));
}

}  // namespace datafix::server
