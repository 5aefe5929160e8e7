// Explaining a failed run with the pre-flight facts: a statement that changed another number of
// rows than declared, or an error from the database (a missing privilege, a row-level security
// check, a trigger that refused, a lock). The explanation names tables, roles, policies and
// triggers, never values.
#pragma once

#include <optional>
#include <string>

#include "core/error.hpp"
#include "targetdb/preflight.hpp"

namespace datafix::targetdb {

// What the database reported, as far as datafix keeps it.
struct DatabaseFailure {
    std::string sqlstate;
    std::string message;  // the server's primary message, without the environment prefix
    // PostgreSQL's CONTEXT field when the caller has it: it names the PL/pgSQL function that
    // raised the error ("PL/pgSQL function app_public.f() line 4 at RAISE").
    std::string context;
};

// Reads the SQLSTATE and message out of an Error(database) from the target layer's connection;
// nullopt for other errors.
std::optional<DatabaseFailure> database_failure_from(const Error& error);

struct Explanation {
    std::string message;
    std::string hint;
    bool empty() const { return message.empty(); }
    // "message; HINT: hint"
    std::string text() const;
};

// Why statement `statement_index` changed `actual` rows where `declared` were declared, as far as
// the report tells. Always says something: the facts it found, else where to look.
Explanation explain_mismatch(const PreflightReport& report, int statement_index, long long declared,
                             long long actual);

// Which privilege, policy, trigger or lock explains `failure` in statement `statement_index`
// (0: unknown; every written table is considered). Empty when the report explains nothing.
Explanation explain_database_error(const PreflightReport& report, int statement_index,
                                   const DatabaseFailure& failure);

// What a preview or apply throws instead of `error` when statement `statement_index` failed:
// Error(database) explained by explain_database_error; anything else unchanged. (A count
// mismatch is explained where the counts are known, with explain_mismatch.)
Error explain_failure(const PreflightReport& report, int statement_index, const Error& error);

// `error` with the explanation added to its message and its hint after the original hint. The
// code is kept, so exit statuses do not change.
Error with_explanation(const Error& error, const Explanation& explanation);

}  // namespace datafix::targetdb
