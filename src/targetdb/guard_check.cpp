// Running the guards of run_guards() step by step, recording each outcome instead of stopping at
// the first exception, so a configuration check can say which one failed.
#include "targetdb/guard_check.hpp"

#include <functional>
#include <memory>

#include "targetdb/connection.hpp"
#include "targetdb/guards.hpp"

namespace datafix::targetdb {

std::string_view guard_result_name(GuardCheck::Result result) {
    switch (result) {
        case GuardCheck::Result::ok:
            return "ok";
        case GuardCheck::Result::failed:
            return "failed";
        case GuardCheck::Result::skipped:
            break;
    }
    return "skipped";
}

std::vector<GuardCheck> check_guards(const EnvironmentTarget& target) {
    std::vector<GuardCheck> checks = {{"login"}, {"leader"}, {"pin"}, {"role"}};
    std::unique_ptr<Connection> connection;
    SessionFacts facts;
    const std::function<std::string()> steps[] = {
        [&] {
            connection = Connection::open(target.conninfo, target.name);
            return std::string("connected");
        },
        [&] {
            check_leader(*connection, target);
            return std::string("not in recovery");
        },
        [&] { return "system identifier " + check_pin(*connection, target); },
        [&] {
            check_role(*connection, target, facts);
            configure_session(*connection, target);
            check_still_role(*connection, target, "after SET ROLE");
            return "login " + facts.login + " set role " + target.role +
                   (facts.login_is_superuser ? " (the login is a superuser: allowed by "
                                               "allow_superuser_login)"
                                             : "");
        },
    };
    for (std::size_t i = 0; i < checks.size(); ++i) {
        try {
            checks[i].detail = steps[i]();
            checks[i].result = GuardCheck::Result::ok;
        } catch (const Error& e) {
            checks[i].result = GuardCheck::Result::failed;
            checks[i].detail = e.message();
            checks[i].hint = e.hint();
            checks[i].code = e.code();
            break;
        }
    }
    return checks;
}

}  // namespace datafix::targetdb
