// The server's log: to stderr (as a container's log collector expects) or [server] log_file, as
// text lines or, with [server] log_format = "json", one JSON object per line.
#pragma once

#include <memory>

#include <spdlog/logger.h>

#include "server/config.hpp"

namespace datafix::server {

// The logger named "datafix"; drop it with spdlog::drop("datafix") before making another.
std::shared_ptr<spdlog::logger> make_server_logger(const ServerSettings& settings);

}  // namespace datafix::server
