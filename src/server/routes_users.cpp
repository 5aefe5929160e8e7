// People: who am I, list, and the admin's create / deactivate / rotate-token (tokens shown once).
#include "server/api_error.hpp"
#include "server/route_support.hpp"
#include "server/routes.hpp"
#include "workflow/decide.hpp"

namespace datafix::server {

namespace {

void require_admin(const ledger::Person& actor) {
    if (auto refusal = workflow::check_manage_users(actor)) {
        throw_refusal(*refusal);
    }
}

ledger::AuditEvent event_by(const ledger::Person& actor, const std::string& action) {
    ledger::AuditEvent event;
    event.at = ledger::wall_clock_now();
    event.actor = actor.id;
    event.action = action;
    return event;
}

nlohmann::json issued_json(const ledger::IssuedToken& issued) {
    return {{"user", person_json(issued.person)},
            {"token", issued.token},
            {"notice", "the token is shown once; it is stored only as a hash"}};
}

}  // namespace

void add_user_routes(Router& http, Context& context) {
    http.Get("/api/me", authed(context, [](const auto&, auto& res, const ledger::Person& me) {
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

    http.Post("/api/users",
              authed(context, [&context](const auto& req, auto& res, const ledger::Person& actor) {
                  require_admin(actor);
                  nlohmann::json body = json_body(context, req);
                  ledger::NewPerson person;
                  person.name = string_field(body, "name");
                  person.email = string_field(body, "email");
                  std::string role = string_field(body, "role");
                  auto parsed = ledger::parse_role(role);
                  if (!parsed) {
                      throw ApiError(ErrorCode::invalid_input, "unknown-role",
                                     "unknown role \"" + role + "\"",
                                     "use developer, product_owner or admin");
                  }
                  person.role = *parsed;
                  if (person.email.find('@') == std::string::npos) {
                      throw ApiError(ErrorCode::invalid_input, "email", "the email has no @");
                  }
                  auto issued = context.with_ledger([&](ledger::Ledger& l) {
                      return l.create_user(person, event_by(actor, "user.created"));
                  });
                  context.forget_people();
                  context.log().info("user {} created by user {}", issued.person.id, actor.id);
                  send_json(res, issued_json(issued), 201);
              }));

    http.Post(
        R"(/api/users/(\d+)/(deactivate|activate))",
        authed(context, [&context](const auto& req, auto& res, const ledger::Person& actor) {
            require_admin(actor);
            ledger::UserId id = path_number(req, 1);
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

    http.Post(R"(/api/users/(\d+)/rotate-token)",
              authed(context, [&context](const auto& req, auto& res, const ledger::Person& actor) {
                  ledger::UserId id = path_number(req, 1);
                  // Anyone may replace their own token; other people's are the admin's business.
                  if (id != actor.id) {
                      require_admin(actor);
                  }
                  auto issued = context.with_ledger([&](ledger::Ledger& l) {
                      return l.rotate_token(id, event_by(actor, "user.token_rotated"));
                  });
                  if (!issued) {
                      throw ApiError(ErrorCode::not_found, "user-not-found",
                                     "no user " + std::to_string(id));
                  }
                  send_json(res, issued_json(*issued));
              }));
}

}  // namespace datafix::server
