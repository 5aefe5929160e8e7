// Pre-flight's policy for the application's own functions. Every function a change statement or a
// verify query calls is resolved on the target as the configured role resolves it (its
// search_path, overloads by argument count), and datafix vouches for an application function only
// when it can read what it does: a sql or plpgsql body that parses with PostgreSQL's parsers
// (sql/function_body.hpp), no dynamic SQL, no statements beyond DML and SELECT, no setting of the
// parameters in refused_function_settings() (in its definition or its body), every function it
// calls vouched for too (PostgreSQL's own through the allowlist, the application's recursively),
// and SECURITY DEFINER only where the environment's vouch_security_definer names it. A verify
// query's functions must also write nothing and be STABLE or IMMUTABLE. What a change's
// functions write joins the write closure. Refusals become function_refused findings (blockers)
// that name functions only, never values.
//
// The same policy covers functions reached other than by a call: the functions of the operators
// (pg_operator.oprcode) and casts (pg_cast.castfunc, and a domain's checks) a statement or body
// uses, and — for the tables of the write closure — their column defaults, generated columns,
// CHECK constraints, the checks of their columns' domains and the trigger functions that fire.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "targetdb/change_plan.hpp"
#include "targetdb/environment_target.hpp"
#include "targetdb/preflight.hpp"
#include "targetdb/preflight_catalog.hpp"

namespace datafix::targetdb {

class Connection;

// A table a change's function writes, schema-qualified, for the write closure.
struct FunctionWrite {
    std::string table;
    std::string command;  // "INSERT", "UPDATE", "DELETE", "MERGE"
    std::string cause;    // "function app_public.f(integer) called by statement 1"
};

// Calls deeper than this (a function calling a function ...) are refused: a body datafix would
// have to follow further is not one it can vouch for.
inline constexpr int kMaxFunctionDepth = 8;

// Fills report.functions; returns what the change's functions write. Inside pre-flight's READ
// ONLY transaction (it sets search_path locally while it reads a function with its own).
std::vector<FunctionWrite> check_functions(Connection& connection, PreflightReport& report,
                                           const ChangePlan& plan, const EnvironmentTarget& target);

// The functions that run because a table of the write closure is written: the trigger functions
// that fire, and for INSERT and UPDATE the column defaults, generated columns, CHECK constraints
// and domain checks (their expressions read with pg_get_expr and the SQL parser). Vouched for as
// a change's functions; a trigger function's dynamic SQL keeps its own treatment (the closure
// widens to every application table) and its role changes theirs (role_change findings).
class ClosureFunctions {
  public:
    ClosureFunctions(Connection& connection, PreflightReport& report,
                     const EnvironmentTarget& target);
    ~ClosureFunctions();
    ClosureFunctions(const ClosureFunctions&) = delete;
    ClosureFunctions& operator=(const ClosureFunctions&) = delete;

    // Checks each table (report.tables, `identities` and `commands` in step) for the commands it
    // has not been checked for yet; returns what the functions of its expressions write.
    std::vector<FunctionWrite> check(const std::vector<std::optional<TableIdentity>>& identities,
                                     const std::vector<TableCommands>& commands);

  private:
    class State;
    std::unique_ptr<State> state_;
};

// Parameters a function may not SET (its definition's proconfig, or SET / set_config in its
// body): who the session is, whether triggers and row security apply, and datafix's timeouts.
const std::vector<std::string>& refused_function_settings();

// The function_refused findings from report.functions (blockers).
void add_function_findings(PreflightReport& report);

// Preview and apply run nothing when pre-flight refused a function: throws Error(refused) with
// the first refusal's message and HINT.
void refuse_unvouched_functions(const PreflightReport& report);

}  // namespace datafix::targetdb
