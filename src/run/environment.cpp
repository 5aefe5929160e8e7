// An environment as one person runs it.
#include "run/environment.hpp"

#include "core/error.hpp"

namespace datafix::run {

EnvironmentConfig as_person(const EnvironmentConfig& environment, const model::Person& person) {
    EnvironmentConfig out = environment;
    if (environment.person_settings.empty()) {
        return out;
    }
    auto found = environment.person_settings.find(person.email);
    if (found == environment.person_settings.end()) {
        throw Error(ErrorCode::rule,
                    environment.target.name +
                        " maps every driver to the application's own "
                        "identity, and has no entry for " +
                        person.email,
                    "an admin adds [environment.person_settings] \"" + person.email +
                        "\" = { ... } for " + environment.target.name +
                        " in datafix.toml and restarts the server");
    }
    for (const auto& [name, value] : found->second) {
        out.target.session_settings[name] = value;
    }
    return out;
}

}  // namespace datafix::run
