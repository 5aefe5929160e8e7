// Rewrites an environment's conninfo for a port-forward, with libpq's own parser so that every
// form libpq accepts (key=value, URI, quoted values) is understood the same way here.
#include "discover/conninfo.hpp"

#include <libpq-fe.h>

#include <memory>

#include "core/error.hpp"

namespace datafix::discover {

namespace {

struct OptionsDeleter {
    void operator()(PQconninfoOption* options) const { PQconninfoFree(options); }
};
using Options = std::unique_ptr<PQconninfoOption, OptionsDeleter>;

Options parse(std::string_view conninfo, const std::string& key) {
    char* message = nullptr;
    Options options(PQconninfoParse(std::string(conninfo).c_str(), &message));
    if (!options) {
        std::string why = message != nullptr ? message : "out of memory";
        PQfreemem(message);
        while (!why.empty() && why.back() == '\n') {
            why.pop_back();
        }
        throw Error(ErrorCode::config, key + ": the conninfo cannot be parsed: " + why,
                    "write it as libpq key=value pairs, e.g. \"dbname=app user=datafix_login\"");
    }
    return options;
}

bool names_a_host(std::string_view keyword) {
    return keyword == "host" || keyword == "hostaddr" || keyword == "port";
}

// libpq's key=value quoting: single quotes, with backslash before ' and \.
std::string quoted(std::string_view value) {
    std::string out = "'";
    for (char c : value) {
        if (c == '\'' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    out += '\'';
    return out;
}

}  // namespace

void check_conninfo_without_password(std::string_view conninfo, const std::string& key) {
    Options options = parse(conninfo, key);
    for (const PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
        if (o->val != nullptr && std::string_view(o->keyword) == "password") {
            throw Error(ErrorCode::config,
                        key +
                            ": holds a password, which pg_dump would show on its command line "
                            "to every local user",
                        "put the password in a passfile (passfile=/path, mode 0600) and leave it "
                        "out of the conninfo");
        }
    }
}

void check_conninfo_without_host(std::string_view conninfo, const std::string& key) {
    Options options = parse(conninfo, key);
    for (const PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
        if (o->val != nullptr && names_a_host(o->keyword)) {
            throw Error(ErrorCode::config,
                        key + ": names " + std::string(o->keyword) +
                            ", but a pod target's host and port come from leader discovery",
                        "remove host, hostaddr and port from the conninfo of this environment");
        }
    }
}

std::string leader_conninfo(std::string_view base, std::string_view host, int port) {
    check_conninfo_without_host(base, "conninfo");
    Options options = parse(base, "conninfo");
    std::string out;
    for (const PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
        if (o->val == nullptr || names_a_host(o->keyword)) {
            continue;
        }
        out += std::string(o->keyword) + "=" + quoted(o->val) + " ";
    }
    // An address (127.0.0.1, 10.128.4.21, fd00::12) is written bare, anything else quoted.
    const bool bare = !host.empty() &&
                      host.find_first_not_of("0123456789abcdefABCDEF.:") == std::string_view::npos;
    return out + "host=" + (bare ? std::string(host) : quoted(host)) +
           " port=" + std::to_string(port);
}

std::string forwarded_conninfo(std::string_view base, int local_port) {
    return leader_conninfo(base, "127.0.0.1", local_port);
}

}  // namespace datafix::discover
