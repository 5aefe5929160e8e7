// The one error type of datafix: a stable code, a lowercase specific message and a HINT telling
// the user what to do. The code is the process exit status (cli) and maps to an HTTP status
// (server); both mappings live here so there is one place to read them.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace datafix {

// Stable: scripts rely on these numbers as exit statuses. Never renumber; only append.
enum class ErrorCode : int {
    ok = 0,
    internal = 1,          // a bug or an unexpected failure
    usage = 2,             // bad command line
    refused = 3,           // the SQL guard refused a statement
    invalid_input = 4,     // unreadable, unparsable, oversized input
    config = 5,            // configuration missing or wrong
    target_refused = 6,    // the target database failed a guard (recovery, pin, role)
    count_mismatch = 7,    // row counts or evidence differ from what was declared/approved
    conflict = 8,          // revert found rows changed since the apply
    in_doubt = 9,          // the outcome of a COMMIT could not be determined yet
    rule = 10,             // a workflow rule refused the step
    unauthenticated = 11,  // missing, wrong or revoked token
    forbidden = 12,        // the person's role may not do this
    unreachable = 13,      // the server or the database could not be reached
    not_found = 14,        // no such request, user, run
    database = 15,         // the database reported an error (lock timeout, constraint, ...)
    escape = 16,           // the session left the configured role
    revert_inexact = 17,   // a revert could not put every row back exactly: rolled back
    too_many = 18,         // the person (or address) is at a limit of the server: try again later
    busy = 19,             // the server is at its capacity: try again later
};

// The highest code, for loops over all of them (a client reading a code's name).
constexpr ErrorCode kLastErrorCode = ErrorCode::busy;

class Error : public std::runtime_error {
  public:
    // `rule`: the stable id of the rule that refused (e.g. "pair-is-not-driver"), for clients
    // that act on one refusal; empty when the code says enough.
    Error(ErrorCode code, std::string message, std::string hint = {}, std::string rule = {});

    ErrorCode code() const noexcept { return code_; }
    const std::string& message() const noexcept { return message_; }
    const std::string& hint() const noexcept { return hint_; }
    const std::string& rule() const noexcept { return rule_; }

    // "message\nHINT: hint" (the HINT line only when there is one).
    std::string describe() const;

  private:
    ErrorCode code_;
    std::string message_;
    std::string hint_;
    std::string rule_;
};

int exit_status(ErrorCode code) noexcept;
int http_status(ErrorCode code) noexcept;
std::string_view code_name(ErrorCode code) noexcept;

}  // namespace datafix
