// The session's guards run one by one and reported, for `datafix server --check-config`: can the
// login connect, is it the leader, is it the pinned cluster, can the role be set (and is it no
// superuser). Changes nothing: no transaction is opened, SET ROLE and the settings last only as
// long as the connection, which is closed at the end.
#pragma once

#include <string>
#include <vector>

#include "core/error.hpp"
#include "targetdb/environment_target.hpp"

namespace datafix::targetdb {

struct GuardCheck {
    enum class Result { ok, failed, skipped };
    std::string name;  // "login", "leader", "pin", "role"
    Result result = Result::skipped;
    std::string detail;  // ok: what was found (login, system identifier); failed: the message
    std::string hint;    // failed: what to do
    ErrorCode code = ErrorCode::internal;  // failed: the error's code
};

std::string_view guard_result_name(GuardCheck::Result result);  // "ok", "failed", "skipped"

// The four checks in order; after the first failure the rest are skipped.
std::vector<GuardCheck> check_guards(const EnvironmentTarget& target);

}  // namespace datafix::targetdb
