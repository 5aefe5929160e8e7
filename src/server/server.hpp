// `datafix server`: opens the ledger with the key, wires the routes and serves until SIGINT or
// SIGTERM.
#pragma once

#include "server/config.hpp"

namespace datafix::server {

// Returns the exit status. Throws Error(config) when the ledger, the key or the address is wrong.
int serve(const Config& config);

}  // namespace datafix::server
