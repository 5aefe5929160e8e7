// The conninfo that reaches the leader, through a port-forward or at its pod IP: the
// environment's own parameters (dbname, user, passfile, sslmode, ...) with the discovered host
// and port added.
#pragma once

#include <string>
#include <string_view>

namespace datafix::discover {

// Refuses (Error(config), naming `key`) a conninfo that cannot be parsed or that names a host,
// hostaddr or port: for a pod target those come from discovery, and a second host would let
// libpq fall back to a database nobody discovered.
void check_conninfo_without_host(std::string_view conninfo, const std::string& key);

// Refuses (Error(config), naming `key`) a conninfo that holds a password: it is handed to a
// program's command line (pg_dump), where every local user can read it. A passfile, or
// PGPASSFILE in the server's environment, keeps it off.
void check_conninfo_without_password(std::string_view conninfo, const std::string& key);

// `base` (key=value or URI form) rewritten as key=value text plus host=<host> port=<port>.
std::string leader_conninfo(std::string_view base, std::string_view host, int port);

// leader_conninfo for a port-forward: host=127.0.0.1 port=<local_port>.
std::string forwarded_conninfo(std::string_view base, int local_port);

}  // namespace datafix::discover
