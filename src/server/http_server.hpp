// The HTTP server: libmicrohttpd's event thread reads requests and writes answers for every
// connection, so a connection costs a socket and a little memory, never a thread. Handlers run
// on the worker pool while their connection waits suspended; a live event stream sleeps, also
// suspended, until it has something to send. Hostile or broken clients are bounded: a request's
// headers and body must arrive in time (a slowly dripping client is cut off, not only an idle
// one), connections are limited in all and per address, and requests waiting for a worker are
// limited (503 beyond). The only file that includes <microhttpd.h> is http_server.cpp.
#pragma once

#include <spdlog/logger.h>

#include <memory>

#include "server/config.hpp"
#include "server/http.hpp"

namespace datafix::server {

class HttpServer {
  public:
    // `router` and `log` must outlive the server.
    HttpServer(const Router& router, const ServerSettings& settings, spdlog::logger& log);
    ~HttpServer();  // stop()
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Binds [server] listen:port and starts serving; returns the port (chosen freely for port 0).
    // Error(config) when the address cannot be bound.
    int start();
    // Stops accepting, lets running handlers finish and answer, ends every stream, and closes
    // all connections. Idempotent.
    void stop();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace datafix::server
