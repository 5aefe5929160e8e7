// cpp-httplib as the server uses it: every server file includes it through here.
//
// Debian ships cpp-httplib as a compiled library whose listen backlog is fixed at 5, so a burst of
// dozens of clients overflows the accept queue and some of them time out. widen_listen_backlog()
// captures the listening socket as httplib creates it and, once bound, listens again with a deeper
// queue (Linux applies the new backlog to a socket that is already listening).
#pragma once

#include <httplib.h>

namespace datafix::server {

constexpr int kListenBacklog = 1024;

// Call before bind_to_port(); call apply() on the result right after it.
class ListenBacklog {
  public:
    explicit ListenBacklog(httplib::Server& http);
    void apply() const;

  private:
    int fd_ = -1;
};

}  // namespace datafix::server
