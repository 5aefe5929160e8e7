// An environment as a run reaches it: the target database and its rules, how its leader pod is
// found, how its backup is taken, the session settings per person, and live mode's bounds. The
// server's configuration reader fills it from datafix.toml ([[environment]]).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "backup/backup.hpp"
#include "discover/pod_target.hpp"
#include "model/person.hpp"
#include "targetdb/environment_target.hpp"
#include "targetdb/live.hpp"
#include "workflow/config.hpp"

namespace datafix::run {

struct EnvironmentConfig {
    targetdb::EnvironmentTarget target;
    workflow::EnvironmentRules rules;
    // [environment.openshift] / [environment.kubernetes]: the leader pod is found at every step
    // and reached through a port-forward; target.conninfo then names no host.
    std::optional<discover::PodTarget> pods;
    // [environment.backup]: how `datafix backup` takes this environment's backup; none: refused.
    std::optional<backup::BackupSettings> backup;
    // [environment.person_settings]: per person (by e-mail), session settings such as
    // jwt.claims.sub = the person's id in the application, so the application's own audit names
    // the driver. When present, a person it does not map is refused.
    std::map<std::string, std::map<std::string, std::string>> person_settings;
    // "schema.table" -> the column people name its rows by (an application number); over the
    // global [display_keys] for this environment.
    std::map<std::string, std::string> display_keys;
    // live_window and live_max_rows: the bounds of live mode (rules.live turns it on).
    targetdb::LiveLimits live;
};

// `environment` as `person` runs it: their person_settings over the environment's
// session_settings. Throws Error(config) when the environment maps people and not this one.
EnvironmentConfig as_person(const EnvironmentConfig& environment, const model::Person& person);

}  // namespace datafix::run
