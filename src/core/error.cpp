// Error catalog: exit statuses and HTTP statuses for each stable code.
#include "core/error.hpp"

namespace datafix {

Error::Error(ErrorCode code, std::string message, std::string hint, std::string rule)
    : std::runtime_error(message),
      code_(code),
      message_(std::move(message)),
      hint_(std::move(hint)),
      rule_(std::move(rule)) {}

std::string Error::describe() const {
    if (hint_.empty()) {
        return message_;
    }
    return message_ + "\nHINT: " + hint_;
}

int exit_status(ErrorCode code) noexcept {
    return static_cast<int>(code);
}

int http_status(ErrorCode code) noexcept {
    switch (code) {
        case ErrorCode::ok:
            return 200;
        case ErrorCode::usage:
        case ErrorCode::invalid_input:
            return 400;
        case ErrorCode::unauthenticated:
            return 401;
        case ErrorCode::forbidden:
            return 403;
        case ErrorCode::not_found:
            return 404;
        case ErrorCode::rule:
        case ErrorCode::conflict:
        case ErrorCode::revert_inexact:
        case ErrorCode::count_mismatch:
        case ErrorCode::refused:
            return 409;
        case ErrorCode::target_refused:
        case ErrorCode::escape:
        case ErrorCode::database:
            return 422;
        case ErrorCode::too_many:
            return 429;
        case ErrorCode::unreachable:
        case ErrorCode::busy:
            return 503;
        case ErrorCode::in_doubt:
            return 202;
        case ErrorCode::config:
        case ErrorCode::internal:
            return 500;
    }
    return 500;
}

std::string_view code_name(ErrorCode code) noexcept {
    switch (code) {
        case ErrorCode::ok:
            return "ok";
        case ErrorCode::internal:
            return "internal";
        case ErrorCode::usage:
            return "usage";
        case ErrorCode::refused:
            return "refused";
        case ErrorCode::invalid_input:
            return "invalid_input";
        case ErrorCode::config:
            return "config";
        case ErrorCode::target_refused:
            return "target_refused";
        case ErrorCode::count_mismatch:
            return "count_mismatch";
        case ErrorCode::conflict:
            return "conflict";
        case ErrorCode::in_doubt:
            return "in_doubt";
        case ErrorCode::rule:
            return "rule";
        case ErrorCode::unauthenticated:
            return "unauthenticated";
        case ErrorCode::forbidden:
            return "forbidden";
        case ErrorCode::unreachable:
            return "unreachable";
        case ErrorCode::not_found:
            return "not_found";
        case ErrorCode::database:
            return "database";
        case ErrorCode::escape:
            return "escape";
        case ErrorCode::revert_inexact:
            return "revert_inexact";
        case ErrorCode::too_many:
            return "too_many";
        case ErrorCode::busy:
            return "busy";
    }
    return "internal";
}

}  // namespace datafix
