// Errors to HTTP statuses and JSON bodies; the status comes from core's catalog only.
#include "server/api_error.hpp"

#include <spdlog/logger.h>

namespace datafix::server {

ApiError::ApiError(ErrorCode code, std::string rule, std::string message, std::string hint,
                   nlohmann::json details)
    : Error(code, std::move(message), std::move(hint), std::move(rule)),
      details_(std::move(details)) {}

nlohmann::json error_body(const Error& error, const std::string& rule,
                          const nlohmann::json& details) {
    nlohmann::json body = {
        {"error", std::string(code_name(error.code()))},
        {"rule", rule.empty() ? std::string(code_name(error.code())) : rule},
        {"message", error.message()},
        {"hint", error.hint()},
    };
    if (!details.is_null()) {
        body["details"] = details;
    }
    return body;
}

void send_error(Response& res, const Error& error) {
    const auto* api = dynamic_cast<const ApiError*>(&error);
    nlohmann::json body = error_body(error, error.rule(), api ? api->details() : nullptr);
    send_json(res, body, http_status(error.code()));
}

void send_json(Response& res, const nlohmann::json& body, int status) {
    res.status = status;
    res.set_header("Cache-Control", "no-store");
    res.set_content(body.dump(), "application/json");
}

void answer_route(const Router::Route& route, const Request& req, Response& res,
                  spdlog::logger& log) {
    try {
        route.handler(req, res);
    } catch (const Error& e) {
        res = Response();
        send_error(res, e);
    } catch (const std::exception& e) {
        log.error("{} {}: internal error: {}", req.method, req.path, e.what());
        res = Response();
        send_error(res, Error(ErrorCode::internal, "internal error",
                              "see the server log; report it if it repeats"));
    }
}

void answer_no_route(const Request& req, Response& res) {
    send_error(res, ApiError(ErrorCode::not_found, "no-such-route",
                             "no such route: " + req.method + " " + req.path,
                             "see datafix --help for the API's clients"));
}

void answer(const Router& router, Request& req, Response& res, spdlog::logger& log) {
    const Router::Route* route = router.find(req.method, req.path, req.matches);
    if (route == nullptr) {
        answer_no_route(req, res);
        return;
    }
    answer_route(*route, req, res, log);
}

}  // namespace datafix::server
