// A real `datafix server` on loopback for the server benchmarks (bench_server, bench_http): a
// temporary directory, a SQLite ledger made by `datafix init`, and one environment that is never
// connected to (reading state, claiming and watching touch the ledger only). Header-only.
#pragma once

#include <fcntl.h>
#include <httplib.h>
#include <signal.h>  // NOLINT(modernize-deprecated-headers): POSIX kill
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "harness/process.hpp"

extern char** environ;

namespace datafix::bench {

inline std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

struct LocalServer {
    std::string dir;
    std::string url;
    int port = 0;
    std::string admin;  // the first admin's token
    pid_t pid = -1;

    // `server_settings`: more keys of [server] (e.g. "worker_threads = 96\n").
    explicit LocalServer(const std::string& server_settings = "") {
        char tmpl[] = "/tmp/datafix-bench-XXXXXX";
        dir = ::mkdtemp(tmpl);
        std::ofstream(dir + "/datafix.toml")
            << "[server]\nlisten = \"127.0.0.1\"\nport = 0\nlog_file = \"server.log\"\n"
            << server_settings
            << "[[environment]]\nname = \"dev\"\nconninfo = \"host=/nonexistent\"\n"
            << "role = \"app_owner\"\nsystem_identifier = \"1\"\napprovals = [\"pair\"]\n";
        auto init = datafix::testing::run_process(
            {DATAFIX_BINARY, "init", "--config", dir + "/datafix.toml", "--admin-email",
             "admin@example.com", "--admin-name", "Bench Admin", "--output", "json"});
        admin = nlohmann::json::parse(init.out)["token"];
        std::string out = dir + "/server.out";
        std::string config = dir + "/datafix.toml";
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT, 0600);
        const char* argv[] = {DATAFIX_BINARY, "server", "--config", config.c_str(), nullptr};
        posix_spawn(&pid, DATAFIX_BINARY, &actions, nullptr, const_cast<char**>(argv), environ);
        posix_spawn_file_actions_destroy(&actions);
        while (url.empty()) {
            std::string text = slurp(out);
            auto at = text.find("listening on ");
            auto eol = text.find('\n', at);
            if (at != std::string::npos && eol != std::string::npos) {
                url = text.substr(at + 13, eol - at - 13);
                port = std::stoi(url.substr(url.rfind(':') + 1));
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    ~LocalServer() {
        ::kill(pid, SIGTERM);
        ::waitpid(pid, nullptr, 0);
        std::filesystem::remove_all(dir);
    }
    LocalServer(const LocalServer&) = delete;
    LocalServer& operator=(const LocalServer&) = delete;

    nlohmann::json post(const std::string& token, const std::string& path, nlohmann::json body) {
        httplib::Client c(url);
        auto r = c.Post(path.c_str(), {{"Authorization", "Bearer " + token}}, body.dump(),
                        "application/json");
        return nlohmann::json::parse(r->body);
    }
};

}  // namespace datafix::bench
