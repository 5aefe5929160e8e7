// Authentication, body parsing and error answers shared by all routes.
#include "server/route_support.hpp"

#include <algorithm>

#include "server/api_error.hpp"
#include "server/sign_in.hpp"
#include "workflow/reading.hpp"

namespace datafix::server {

namespace {

std::string bearer_token(const Request& req) {
    std::string header = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    if (header.size() <= prefix.size() ||
        !std::equal(prefix.begin(), prefix.end(), header.begin(),
                    [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
        return {};
    }
    return header.substr(prefix.size());
}

[[noreturn]] void refuse_no_role(const std::string& what) {
    throw ApiError(ErrorCode::forbidden, "no-role",
                   "you have no datafix role yet, so you cannot " + what +
                       ": you may read your inbox and the requests you are a member of",
                   "ask an administrator to give you a role (datafix users set-role EMAIL ROLE)");
}

// A person without a role (created at their first sign-in, unknown_people = "create") reads
// what concerns them and nothing else: who they are, their inbox, and the requests they are a
// member of (everything under /api/requests/N). Every other call is refused here, before any
// route sees it, as a read-only token's steps are.
void check_no_role_reading(Context& context, const Request& req, const model::Person& person) {
    if (req.method != "GET" && req.method != "HEAD") {
        refuse_no_role("take steps or change anything");
    }
    if (req.path == "/api/me" || req.path == "/api/inbox") {
        return;
    }
    const std::string prefix = "/api/requests/";
    if (req.path.rfind(prefix, 0) == 0) {
        const std::size_t end = req.path.find_first_not_of("0123456789", prefix.size());
        const std::string digits = req.path.substr(prefix.size(), end - prefix.size());
        if (!digits.empty() && digits.size() < 18 &&
            (end == std::string::npos || req.path[end] == '/')) {
            const model::RequestState state = context.load_request(std::stoll(digits));
            if (workflow::reading::is_member(state, person.id)) {
                return;
            }
            refuse_no_role("read a request you are not a member of");
        }
    }
    refuse_no_role("read this");
}

}  // namespace

model::Person authenticate(Context& context, const Request& req) {
    std::string token = bearer_token(req);
    // A session from the sign-in provider: the pages' cookie or the CLI's "dfs_" token.
    if (auto person = authenticate_session(context, req, token)) {
        return *person;
    }
    if (token.empty()) {
        throw ApiError(ErrorCode::unauthenticated, "token-required", "no bearer token was sent",
                       "set DATAFIX_TOKEN or run datafix login --token TOKEN");
    }
    auto person = context.with_ledger([&](ledger::Ledger& l) { return l.authenticate(token); });
    if (!person) {
        throw ApiError(ErrorCode::unauthenticated, "token-invalid",
                       "the token is unknown, revoked or belongs to a deactivated person",
                       "ask an administrator for a new token (datafix users rotate-token EMAIL)");
    }
    if (!person->token_expires_at || *person->token_expires_at <= model::wall_clock_now()) {
        throw ApiError(
            ErrorCode::unauthenticated, "token-expired",
            "the token expired" + (person->token_expires_at
                                       ? " at " + format_time(*person->token_expires_at)
                                       : std::string()),
            "ask an administrator for a new token (datafix users rotate-token EMAIL), then "
            "log in with it (datafix login --token TOKEN); rotate yours before it expires");
    }
    return *person;
}

Handler authed(Context& context, AuthedHandler handler) {
    return [&context, handler = std::move(handler)](const Request& req, Response& res) {
        try {
            model::Person person = authenticate(context, req);
            // A read-only token reads: every step and change is a POST (or another writing
            // method), refused here before any route sees it.
            if (person.token_scope != model::TokenScope::full && req.method != "GET" &&
                req.method != "HEAD") {
                throw ApiError(ErrorCode::forbidden, "token-read-only",
                               "this token is read-only (scope " +
                                   std::string(model::token_scope_name(person.token_scope)) +
                                   "): it cannot take steps or change anything",
                               "use a full token for this (datafix users rotate-token EMAIL)");
            }
            if (person.role == model::Role::none) {
                check_no_role_reading(context, req, person);
            }
            handler(req, res, person);
        } catch (const Error& e) {
            send_error(res, e);
        } catch (const nlohmann::json::exception& e) {
            send_error(res, Error(ErrorCode::invalid_input, "malformed request body field",
                                  "send the fields this route documents"));
        } catch (const std::exception& e) {
            context.log().error("{} {}: internal error: {}", req.method, req.path, e.what());
            send_error(res, Error(ErrorCode::internal, "internal error",
                                  "see the server log; report it if it repeats"));
        }
    };
}

nlohmann::json json_body(const Context& context, const Request& req) {
    if (req.body.size() > context.config().server.max_body_bytes) {
        throw ApiError(ErrorCode::invalid_input, "body-too-large",
                       "the request body has " + std::to_string(req.body.size()) +
                           " bytes; the limit is " +
                           std::to_string(context.config().server.max_body_bytes),
                       "a change file is at most 1 MiB");
    }
    if (req.body.empty()) {
        return nlohmann::json::object();
    }
    nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
        throw ApiError(ErrorCode::invalid_input, "malformed-json",
                       "the request body is not a JSON object",
                       "send Content-Type: application/json");
    }
    return body;
}

std::string string_field(const nlohmann::json& body, const char* name, bool required) {
    auto it = body.find(name);
    if (it == body.end() || it->is_null()) {
        if (required) {
            throw ApiError(ErrorCode::invalid_input, "field-required",
                           std::string("field \"") + name + "\" is required");
        }
        return {};
    }
    if (!it->is_string()) {
        throw ApiError(ErrorCode::invalid_input, "field-type",
                       std::string("field \"") + name + "\" must be a string");
    }
    return it->get<std::string>();
}

std::optional<std::int64_t> int_field(const nlohmann::json& body, const char* name) {
    auto it = body.find(name);
    if (it == body.end() || it->is_null()) {
        return std::nullopt;
    }
    if (!it->is_number_integer()) {
        throw ApiError(ErrorCode::invalid_input, "field-type",
                       std::string("field \"") + name + "\" must be an integer");
    }
    return it->get<std::int64_t>();
}

bool bool_field(const nlohmann::json& body, const char* name) {
    auto it = body.find(name);
    if (it == body.end() || it->is_null()) {
        return false;
    }
    if (!it->is_boolean()) {
        throw ApiError(ErrorCode::invalid_input, "field-type",
                       std::string("field \"") + name + "\" must be true or false");
    }
    return it->get<bool>();
}

std::int64_t path_number(const Request& req, std::size_t group) {
    try {
        return std::stoll(req.matches.at(group));
    } catch (const std::exception&) {
        throw ApiError(ErrorCode::invalid_input, "path-number", "the path needs a number");
    }
}

std::string path_text(const Request& req, std::size_t group) {
    return req.matches.at(group);
}

void require_member(const model::RequestState& state, const model::Person& person,
                    const std::string& rule, const std::string& what) {
    if (workflow::reading::is_member(state, person.id)) {
        return;
    }
    throw ApiError(ErrorCode::forbidden, rule,
                   "you are not one of request " + std::to_string(state.request.number) +
                       "'s people (its product owner, whoever filed it, its drivers and "
                       "pairs): " +
                       what + " are for them only",
                   "ask the request's driver or product owner");
}

void require_role(const model::Person& person, std::initializer_list<model::Role> roles,
                  const std::string& what) {
    if (std::find(roles.begin(), roles.end(), person.role) != roles.end()) {
        return;
    }
    throw ApiError(
        ErrorCode::forbidden, "role",
        std::string("a ") + std::string(model::role_name(person.role)) + " may not " + what,
        "ask someone with the right role");
}

}  // namespace datafix::server
