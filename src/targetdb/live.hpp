// Live mode: the change runs once in a transaction that stays open while the pair looks at what
// it shows; their approval commits that same transaction, a cancel or the end of the window rolls
// it back. Nothing is rehearsed first, so nothing runs twice: no sequence value is drawn by a
// preview, and the statement's cost is paid once. An open transaction holds its row locks and
// holds back vacuum, so it is bounded: the window (and, past it, PostgreSQL's
// idle_in_transaction_session_timeout), the environment's lock_timeout, and a row limit.
// Session::live (session.hpp) runs it; this file holds its limits and their checks.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "targetdb/environment_target.hpp"
#include "targetdb/evidence.hpp"
#include "targetdb/preflight.hpp"

namespace datafix::targetdb {

struct LiveLimits {
    // How long the transaction may stay open for the pair (from its start to their approval).
    std::chrono::milliseconds window{std::chrono::minutes{2}};
    // The most rows the change may hold (changed rows of the whole write closure).
    long long max_rows = 10000;
};

// What the live transaction does once its evidence is shown.
enum class LiveDecision { commit, roll_back };

// Called with what the open transaction shows (counts, images, verify results, fingerprint);
// returns when the pair approved (commit) or the run was cancelled or its window ended (roll
// back). Throwing from it rolls back.
using AwaitLiveDecision = std::function<LiveDecision(const Evidence& shown)>;

// How long past the window PostgreSQL itself ends the transaction if datafix does not
// (idle_in_transaction_session_timeout): a server that hangs cannot keep its locks.
inline constexpr std::chrono::milliseconds kLiveSlack{std::chrono::seconds{30}};

// `target` as a live session runs it: idle_in_transaction_session_timeout becomes the window plus
// kLiveSlack (the guards set it and check it after every statement).
EnvironmentTarget live_target(const EnvironmentTarget& target, const LiveLimits& limits);

// Before anything runs: the declared counts, else the planner's estimates, of the pre-flight
// report over the limit refuse the change (Error refused).
void refuse_estimate_over_limit(const PreflightReport& report, const LiveLimits& limits,
                                const std::string& environment);

// The rows the open transaction holds: the statements' counts, and once the write closure is
// captured every row it changed. Over the limit: Error refused (the caller rolls back).
long long rows_held(const Evidence& evidence);
void refuse_rows_over_limit(long long rows, const LiveLimits& limits,
                            const std::string& environment);

}  // namespace datafix::targetdb
