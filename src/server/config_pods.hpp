// [environment.openshift] / [environment.kubernetes] of datafix.toml: an environment whose
// database is found by leader discovery instead of the host in its conninfo.
#pragma once

#include <optional>
#include <string>

#include <toml++/toml.h>

#include "discover/pod_target.hpp"

namespace datafix::server {

// The pod target of one environment, or nullopt when it has neither section. `openshift` and
// `kubernetes` are the environment's nodes of those names (nullptr when absent); `conninfo` is
// the environment's own (it must not name a host or port then). `key_prefix` names the
// environment in messages ("datafix.toml: environment \"prod\""), `environment` is its name.
// Throws Error(config) naming the key.
std::optional<discover::PodTarget> read_pod_section(const toml::node* openshift,
                                                    const toml::node* kubernetes,
                                                    const std::string& conninfo,
                                                    const std::string& key_prefix,
                                                    const std::string& environment);

}  // namespace datafix::server
