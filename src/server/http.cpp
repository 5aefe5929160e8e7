// Listening-socket settings that Debian's compiled cpp-httplib does not expose (see http.hpp).
#include "server/http.hpp"

#include <sys/socket.h>

namespace datafix::server {

ListenBacklog::ListenBacklog(httplib::Server& http) {
    http.set_socket_options([this](socket_t sock) {
        httplib::default_socket_options(sock);
        fd_ = sock;
    });
}

void ListenBacklog::apply() const {
    if (fd_ >= 0) {
        ::listen(fd_, kListenBacklog);
    }
}

}  // namespace datafix::server
