// The checks that run before anything else on a new connection, and the session setup after
// them: leader, pin, role, SET ROLE, timeouts, settings. Also the escape check that runs after
// every statement.
#pragma once

#include "targetdb/environment_target.hpp"
#include "targetdb/session.hpp"

namespace datafix::targetdb {

class Connection;

void check_leader(Connection& connection, const EnvironmentTarget& target);
// Returns the cluster's system identifier when it matches the pin.
std::string check_pin(Connection& connection, const EnvironmentTarget& target);
// Refuses a role that does not exist, that the login cannot become, or that is a superuser.
void check_role(Connection& connection, const EnvironmentTarget& target, SessionFacts& facts);
void configure_session(Connection& connection, const EnvironmentTarget& target);
// current_user must still be the configured role; Error(escape) otherwise.
void check_still_role(Connection& connection, const EnvironmentTarget& target,
                      const std::string& where);

SessionFacts run_guards(Connection& connection, const EnvironmentTarget& target);

}  // namespace datafix::targetdb
