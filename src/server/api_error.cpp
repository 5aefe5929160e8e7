// Errors to HTTP statuses and JSON bodies; the status comes from core's catalog only.
#include "server/api_error.hpp"

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

}  // namespace datafix::server
