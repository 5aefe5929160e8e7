// The one place where a failure becomes an HTTP answer: a 4xx/5xx status from core/error.hpp's
// http_status and a JSON body {error, rule, message, hint} (plus details such as the SQL guard's
// reasons). Handlers throw; the route wrapper calls send_error.
#pragma once

#include "server/http.hpp"

#include <nlohmann/json.hpp>
#include <string>

#include "core/error.hpp"
#include "workflow/decision.hpp"

namespace spdlog {
class logger;
}

namespace datafix::server {

// An Error with the rule that refused the step and optional details for the client. A workflow
// refusal is thrown by workflow::throw_refusal as a plain Error with its rule.
class ApiError : public Error {
  public:
    ApiError(ErrorCode code, std::string rule, std::string message, std::string hint = {},
             nlohmann::json details = nullptr);
    const nlohmann::json& details() const noexcept { return details_; }

  private:
    nlohmann::json details_;
};

nlohmann::json error_body(const Error& error, const std::string& rule,
                          const nlohmann::json& details);
void send_error(Response& res, const Error& error);
void send_json(Response& res, const nlohmann::json& body, int status = 200);

// What the HTTP server does with a request once it has read it, with no connection involved (so
// the server tests answer routes in-process the same way): the route's handler, anything it
// throws answered by send_error (an unexpected exception logged as internal)...
void answer_route(const Router::Route& route, const Request& req, Response& res,
                  spdlog::logger& log);
// ... 404 no-such-route when no route matches ...
void answer_no_route(const Request& req, Response& res);
// ... and both: the route that matches method and path (req.matches gets its groups).
void answer(const Router& router, Request& req, Response& res, spdlog::logger& log);

}  // namespace datafix::server
