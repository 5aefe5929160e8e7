// Live mode's limits: the session's idle timeout from the window, and the row limit checked on
// the pre-flight's counts before anything runs and on the real counts while the transaction is
// open (then the caller rolls back).
#include "targetdb/live.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace datafix::targetdb {

EnvironmentTarget live_target(const EnvironmentTarget& target, const LiveLimits& limits) {
    EnvironmentTarget live = target;
    live.idle_in_transaction_session_timeout = limits.window + kLiveSlack;
    return live;
}

namespace {

[[noreturn]] void refuse(const std::string& environment, const std::string& what, long long rows,
                         const LiveLimits& limits) {
    throw Error(ErrorCode::refused,
                environment + ": " + what + " " + std::to_string(rows) +
                    " rows, more than live mode holds open here (live_max_rows = " +
                    std::to_string(limits.max_rows) + "); nothing changed",
                "preview the change, have the pair approve the evidence and apply it; or narrow "
                "the change");
}

}  // namespace

void refuse_estimate_over_limit(const PreflightReport& report, const LiveLimits& limits,
                                const std::string& environment) {
    long long declared = 0;
    long long estimated = 0;
    for (const auto& s : report.statements) {
        if (s.declared) {
            declared += *s.declared;
        } else if (s.estimated) {
            estimated += *s.estimated;
        }
    }
    if (declared > limits.max_rows) {
        refuse(environment, "the change declares", declared, limits);
    }
    if (declared + estimated > limits.max_rows) {
        refuse(environment, "the planner estimates the change at", declared + estimated, limits);
    }
}

long long rows_held(const Evidence& evidence) {
    long long statements = 0;
    for (const auto& s : evidence.statements) {
        statements += s.actual_rows;
    }
    long long closure = 0;
    for (const auto& c : evidence.closure) {
        closure += c.changed();
    }
    return std::max(statements, closure);
}

void refuse_rows_over_limit(long long rows, const LiveLimits& limits,
                            const std::string& environment) {
    if (rows > limits.max_rows) {
        refuse(environment, "the change holds", rows, limits);
    }
}

}  // namespace datafix::targetdb
