// What every route does the same way: authenticate the bearer token, parse a size-limited JSON
// body, read path numbers, and turn any exception into the one error answer (api_error.hpp).
#pragma once

#include "server/http.hpp"

#include <functional>
#include <initializer_list>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

#include "model/person.hpp"
#include "model/request_state.hpp"
#include "server/context.hpp"

namespace datafix::server {

using AuthedHandler = std::function<void(const Request&, Response&, const model::Person&)>;

// Authenticates, runs `handler`, and answers any exception as a JSON error.
Handler authed(Context& context, AuthedHandler handler);

// The active person holding the request's bearer token; Error(unauthenticated) otherwise.
model::Person authenticate(Context& context, const Request& req);

// The body as a JSON object; Error(invalid_input) when oversized, malformed or not an object.
nlohmann::json json_body(const Context& context, const Request& req);

// Typed fields of a body; Error(invalid_input) naming the field when absent or of another type.
std::string string_field(const nlohmann::json& body, const char* name, bool required = true);
std::optional<std::int64_t> int_field(const nlohmann::json& body, const char* name);
bool bool_field(const nlohmann::json& body, const char* name);

// The n-th regex group of the path as a number.
std::int64_t path_number(const Request& req, std::size_t group);
std::string path_text(const Request& req, std::size_t group);

// Error(forbidden, `rule`) unless the person is one of the request's people
// (workflow::reading::is_member: its product owner, whoever filed it, and everyone who drove it
// or approved on it); `what` names the private part, e.g. "row images".
void require_member(const model::RequestState& state, const model::Person& person,
                    const std::string& rule, const std::string& what);

// Error(forbidden) unless the person has one of `roles`.
void require_role(const model::Person& person, std::initializer_list<model::Role> roles,
                  const std::string& what);

}  // namespace datafix::server
