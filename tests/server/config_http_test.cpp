// The HTTP server's limits in [server]: defaults that hold a team's load and refuse a flood,
// values read as written, and mistakes that name their key. Also the run lease and instance
// name, the other [server] settings that decide who settles a run.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "server/config.hpp"

namespace datafix::server {
namespace {

const char* kEnvironment =
    "[[environment]]\nname = \"dev\"\nconninfo = \"dbname=app\"\nrole = \"app_owner\"\n"
    "system_identifier = \"7301234567890123458\"\napprovals = [\"pair\"]\n";

Config parse_server(const std::string& server) {
    return Config::parse("[server]\n" + server + kEnvironment, "datafix.toml", "/etc/datafix");
}

std::string refusal(const std::string& server) {
    try {
        parse_server(server);
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::config);
        return e.message();
    }
    ADD_FAILURE() << "accepted: " << server;
    return {};
}

TEST(ConfigHttp, DefaultsBoundEveryResource) {
    ServerSettings s = parse_server("").server;
    EXPECT_EQ(s.worker_threads, 32);
    EXPECT_EQ(s.max_queued_requests, 512);
    EXPECT_EQ(s.max_connections, 2000);
    EXPECT_EQ(s.max_connections_per_address, 128);
    EXPECT_EQ(s.max_streams, 1000);
    EXPECT_EQ(s.max_streams_per_person, 16);
    EXPECT_EQ(s.header_timeout, std::chrono::seconds(10));
    EXPECT_EQ(s.body_timeout, std::chrono::seconds(60));
}

TEST(ConfigHttp, ValuesAreReadAsWritten) {
    ServerSettings s = parse_server(
                           "worker_threads = 8\nmax_queued_requests = 20\nmax_connections = 300\n"
                           "max_connections_per_address = 30\nmax_streams = 40\n"
                           "max_streams_per_person = 2\nheader_timeout = \"3s\"\n"
                           "body_timeout = \"2m\"\n")
                           .server;
    EXPECT_EQ(s.worker_threads, 8);
    EXPECT_EQ(s.max_queued_requests, 20);
    EXPECT_EQ(s.max_connections, 300);
    EXPECT_EQ(s.max_connections_per_address, 30);
    EXPECT_EQ(s.max_streams, 40);
    EXPECT_EQ(s.max_streams_per_person, 2);
    EXPECT_EQ(s.header_timeout, std::chrono::seconds(3));
    EXPECT_EQ(s.body_timeout, std::chrono::minutes(2));
}

TEST(ConfigHttp, MistakesNameTheirKey) {
    EXPECT_NE(refusal("max_streams = 0\n").find("server.max_streams"), std::string::npos);
    EXPECT_NE(refusal("max_streams_per_person = -1\n").find("server.max_streams_per_person"),
              std::string::npos);
    EXPECT_NE(refusal("max_connections = 2\n").find("must be between 16 and"), std::string::npos);
    EXPECT_NE(refusal("worker_threads = 2\n").find("server.worker_threads"), std::string::npos);
    EXPECT_NE(refusal("header_timeout = \"0s\"\n").find("server.header_timeout"),
              std::string::npos);
    EXPECT_NE(refusal("body_timeout = \"500ms\"\n").find("at least 1s"), std::string::npos);
    EXPECT_NE(refusal("max_stream = 5\n").find("max_stream"), std::string::npos);
}

TEST(ConfigHttp, RunLeaseAndInstance) {
    ServerSettings defaults = parse_server("").server;
    EXPECT_EQ(defaults.run_lease, std::chrono::seconds(30));
    EXPECT_EQ(defaults.instance, "") << "empty: the server names itself <host>:<data_dir>";
    ServerSettings s = parse_server("run_lease = \"2s\"\ninstance = \"datafix-1\"\n").server;
    EXPECT_EQ(s.run_lease, std::chrono::seconds(2));
    EXPECT_EQ(s.instance, "datafix-1");
    EXPECT_NE(refusal("run_lease = \"500ms\"\n").find("server.run_lease"), std::string::npos);
    EXPECT_NE(refusal("run_lease = \"500ms\"\n").find("at least 1s"), std::string::npos);
    EXPECT_NE(refusal("instance = \"\"\n").find("server.instance"), std::string::npos);
}

}  // namespace
}  // namespace datafix::server
