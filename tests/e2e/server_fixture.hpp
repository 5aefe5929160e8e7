// A real `datafix server` for end-to-end tests (header-only: tests/<layer>/ builds *_test.cpp): a
// temporary directory with datafix.toml pointing at the harness's dev/test/prod clusters (a private
// database copy per server), `datafix init`, the server process on a free port, and an HTTP client
// per person.
#pragma once

#include <httplib.h>

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "harness/pg_cluster.hpp"

namespace datafix::e2e {

struct Answer {
    int status = 0;
    nlohmann::json body;
};

// What a test changes about the server: the claim lease, an environment's own target (e.g. an
// OpenShift environment, or a throwaway cluster pair a test may promote and stop), and variables
// of the server's process environment (e.g. PATH with a stand-in `oc` first).
struct ServerOptions {
    std::string lease = "30m";
    // By environment name: the [[environment]] keys after `name`, given the per-server database
    // name. The fixture still creates that database on the shared cluster of the same name.
    std::map<std::string, std::function<std::string(const std::string& database)>> environments;
    std::map<std::string, std::string> server_env;
    // By environment name: more keys and sub-tables (e.g. [environment.backup]) after the
    // environment's own; and sections (e.g. [notify]) after the environments. "{dir}" becomes
    // the server's directory, "{database}" the per-server database name.
    std::map<std::string, std::string> environment_extra;
    std::string sections;
    // More keys of the [server] table (e.g. `ledger = "postgresql:..."`, `run_lease = "2s"`,
    // `header_timeout = "1s"`).
    std::string server_settings;
    // The port to listen on (0: any free one). A sign-in provider must know datafix's callback
    // URL before the server starts.
    int port = 0;
};

class ServerFixture {
  public:
    // `lease` is the claim lease ("30m"); `database` the per-server copy of the sample database.
    explicit ServerFixture(const std::string& lease = "30m");
    explicit ServerFixture(const ServerOptions& options);
    ~ServerFixture();

    const std::string& dir() const { return dir_; }
    const std::string& url() const { return url_; }
    const std::string& admin_token() const { return admin_token_; }
    std::string database() const { return database_; }

    // A new person; returns their token.
    std::string add_person(const std::string& name, const std::string& email,
                           const std::string& role);

    Answer get(const std::string& token, const std::string& path);
    Answer post(const std::string& token, const std::string& path, const nlohmann::json& body);
    Answer post_raw(const std::string& token, const std::string& path, const std::string& body);

    // The datafix binary with `token` and this server.
    testing::ProcessResult cli(const std::string& token, std::vector<std::string> args);

    // SQL on an environment's copy of the sample database, as the superuser.
    std::string psql(const std::string& environment, const std::string& sql);

    std::string server_log() const;
    void stop();
    // Stops the server (or reaps it when it died) and starts it again on the same directory,
    // ledger and port range, with `env` over the options' server_env (e.g. DATAFIX_FAULT).
    void restart(const std::map<std::string, std::string>& env = {});
    // Waits for the server process to end by itself (a fault point killed it); true when it did.
    bool wait_for_exit(std::chrono::milliseconds timeout);
    // Whether the server process is stopped (a ":stop" fault point), and SIGCONT to resume it.
    bool is_stopped() const;
    // The server's process id (-1 when it is not running), for tests that kill it outright.
    int pid() const { return pid_; }
    void resume();

    // A second server process on the same configuration and ledger (`--instance name`), as a
    // second replica would run; stopped with the fixture.
    void start_peer(const std::string& instance);
    Answer peer_get(const std::string& token, const std::string& path);
    Answer peer_post(const std::string& token, const std::string& path, const nlohmann::json& body);

  private:
    // Starts `datafix server` and waits for its URL; returns the pid.
    int launch(const std::map<std::string, std::string>& server_env,
               const std::vector<std::string>& extra_args, const std::string& tag,
               std::string& url);
    void spawn(const std::map<std::string, std::string>& server_env);
    std::map<std::string, std::string> server_env_;
    std::string peer_url_;
    int peer_pid_ = -1;
    std::string dir_;
    std::string url_;
    std::string admin_token_;
    std::string database_;
    int pid_ = -1;
};

}  // namespace datafix::e2e

extern char** environ;

namespace datafix::e2e {

namespace fixture_detail {

inline std::atomic<int> next_database{0};

inline testing::PgCluster& cluster(const std::string& environment) {
    auto& c = testing::SampleClusters::get();
    if (environment == "dev") {
        return c.dev();
    }
    if (environment == "test") {
        return c.test();
    }
    return c.prod();
}

}  // namespace fixture_detail

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

inline ServerFixture::ServerFixture(const std::string& lease)
    : ServerFixture(ServerOptions{lease, {}, {}}) {}

inline ServerFixture::ServerFixture(const ServerOptions& options) {
    const std::string& lease = options.lease;
    char tmpl[] = "/tmp/datafix-e2e-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    database_ =
        "e2e_" + std::to_string(::getpid()) + "_" + std::to_string(fixture_detail::next_database++);
    std::ofstream toml(dir_ + "/datafix.toml");
    toml << "[server]\nlisten = \"127.0.0.1\"\nport = " << options.port
         << "\nlog_file = \"server.log\"\n"
         << "claim_lease = \"" << lease << "\"\nmax_body_bytes = 65536\n"
         << options.server_settings;
    auto fill = [this](std::string text) {
        for (auto [name, value] : {std::pair<std::string, std::string>{"{dir}", dir_},
                                   std::pair<std::string, std::string>{"{database}", database_}}) {
            for (auto at = text.find(name); at != std::string::npos; at = text.find(name, at)) {
                text.replace(at, name.size(), value);
                at += value.size();
            }
        }
        return text;
    };
    for (const char* env : {"dev", "test", "prod"}) {
        auto& c = fixture_detail::cluster(env);
        std::string conninfo = c.create_database(database_, "app", "datafix_login");
        if (auto own = options.environments.find(env); own != options.environments.end()) {
            toml << "\n[[environment]]\nname = \"" << env << "\"\n" << own->second(database_);
            continue;
        }
        toml << "\n[[environment]]\nname = \"" << env << "\"\nconninfo = \"" << conninfo
             << "\"\nrole = \"app_owner\"\nsystem_identifier = \"" << c.system_identifier()
             << "\"\n"
             // As a team configures it: the audit log only grows, and revert restores with
             // triggers off so it can be exact (the sample schema grants the setting).
             << "append_only = [\"app_public.record_version\"]\nrevert_without_triggers = true\n"
             << (std::string(env) == "prod" ? "production = true\napprovals = [\"pair\", "
                                              "\"product_owner\"]\n"
                                            : "approvals = [\"pair\"]\n");
        if (auto more = options.environment_extra.find(env);
            more != options.environment_extra.end()) {
            toml << fill(more->second) << "\n";
        }
    }
    toml << fill(options.sections);
    toml.close();
    auto init = testing::run_process({DATAFIX_BINARY, "init", "--config", dir_ + "/datafix.toml",
                                      "--admin-email", "admin@example.com", "--admin-name",
                                      "Alex Admin", "--output", "json"});
    if (init.status != 0) {
        throw std::runtime_error("datafix init failed: " + init.err);
    }
    admin_token_ = nlohmann::json::parse(init.out)["token"];
    server_env_ = options.server_env;
    spawn(server_env_);
}

inline int ServerFixture::launch(const std::map<std::string, std::string>& server_env,
                                 const std::vector<std::string>& extra_args, const std::string& tag,
                                 std::string& url) {
    url.clear();
    std::string out = dir_ + "/" + tag + ".out";
    // The previous process's "listening on" must not be read as this one's.
    std::filesystem::remove(out);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, (dir_ + "/" + tag + ".err").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::string config = dir_ + "/datafix.toml";
    // setpriv sets a parent-death signal and then executes datafix in the same process: a test
    // process that crashes or is killed takes its servers with it instead of leaking them.
    std::vector<std::string> args = {"/usr/bin/setpriv", "--pdeathsig", "KILL",     "--",
                                     DATAFIX_BINARY,     "server",      "--config", config};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    std::vector<char*> argv;
    for (auto& a : args) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    std::vector<std::string> env_text;
    for (char** e = environ; *e != nullptr; ++e) {
        std::string entry(*e);
        if (!server_env.contains(entry.substr(0, entry.find('=')))) {
            env_text.push_back(entry);
        }
    }
    for (const auto& [name, value] : server_env) {
        env_text.push_back(name + "=" + value);
    }
    std::vector<char*> envp;
    for (auto& e : env_text) {
        envp.push_back(e.data());
    }
    envp.push_back(nullptr);
    int pid = -1;
    if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data()) != 0) {
        throw std::runtime_error("cannot start datafix server");
    }
    posix_spawn_file_actions_destroy(&actions);
    for (int i = 0; i < 200 && url.empty(); ++i) {
        std::string text = read_file(out);
        auto at = text.find("listening on ");
        auto eol = text.find('\n', at);
        if (at != std::string::npos && eol != std::string::npos) {
            url = text.substr(at + 13, eol - at - 13);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (url.empty()) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        throw std::runtime_error("datafix server did not start: " +
                                 read_file(dir_ + "/" + tag + ".err"));
    }
    return pid;
}

inline void ServerFixture::spawn(const std::map<std::string, std::string>& server_env) {
    pid_ = launch(server_env, {}, "server", url_);
}

inline void ServerFixture::start_peer(const std::string& instance) {
    auto env = server_env_;
    env["DATAFIX_FAULT"] = "";
    peer_pid_ = launch(env, {"--instance", instance}, "peer", peer_url_);
}

inline bool ServerFixture::is_stopped() const {
    std::ifstream stat("/proc/" + std::to_string(pid_) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    auto close = text.rfind(')');
    return close != std::string::npos && close + 2 < text.size() && text[close + 2] == 'T';
}

inline void ServerFixture::resume() {
    if (pid_ > 0) {
        ::kill(pid_, SIGCONT);
    }
}

inline ServerFixture::~ServerFixture() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

inline void ServerFixture::restart(const std::map<std::string, std::string>& env) {
    stop();
    auto merged = server_env_;
    for (const auto& [name, value] : env) {
        merged[name] = value;
    }
    spawn(merged);
}

inline bool ServerFixture::wait_for_exit(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

inline void ServerFixture::stop() {
    if (peer_pid_ > 0) {
        ::kill(peer_pid_, SIGTERM);
        ::waitpid(peer_pid_, nullptr, 0);
        peer_pid_ = -1;
    }
    if (pid_ <= 0) {
        return;
    }
    ::kill(pid_, SIGCONT);  // a stopped server cannot act on SIGTERM
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
}

inline std::string ServerFixture::add_person(const std::string& name, const std::string& email,
                                             const std::string& role) {
    Answer a = post(admin_token_, "/api/users", {{"name", name}, {"email", email}, {"role", role}});
    if (a.status != 201) {
        throw std::runtime_error("cannot add " + email + ": " + a.body.dump());
    }
    return a.body["token"];
}

namespace fixture_detail {
inline Answer to_answer(const httplib::Result& res) {
    if (!res) {
        return {0, httplib::to_string(res.error())};
    }
    return {res->status, nlohmann::json::parse(res->body, nullptr, false)};
}
inline httplib::Headers auth(const std::string& token) {
    if (token.empty()) {
        return {};
    }
    return {{"Authorization", "Bearer " + token}};
}
}  // namespace fixture_detail

inline Answer ServerFixture::get(const std::string& token, const std::string& path) {
    httplib::Client client(url_);
    client.set_read_timeout(std::chrono::seconds(120));
    return fixture_detail::to_answer(client.Get(path.c_str(), fixture_detail::auth(token)));
}

inline Answer ServerFixture::post(const std::string& token, const std::string& path,
                                  const nlohmann::json& body) {
    return post_raw(token, path, body.is_null() ? std::string("{}") : body.dump());
}

inline Answer ServerFixture::post_raw(const std::string& token, const std::string& path,
                                      const std::string& body) {
    httplib::Client client(url_);
    client.set_read_timeout(std::chrono::seconds(120));
    return fixture_detail::to_answer(
        client.Post(path.c_str(), fixture_detail::auth(token), body, "application/json"));
}

inline Answer ServerFixture::peer_get(const std::string& token, const std::string& path) {
    httplib::Client client(peer_url_);
    client.set_read_timeout(std::chrono::seconds(120));
    return fixture_detail::to_answer(client.Get(path.c_str(), fixture_detail::auth(token)));
}

inline Answer ServerFixture::peer_post(const std::string& token, const std::string& path,
                                       const nlohmann::json& body) {
    httplib::Client client(peer_url_);
    client.set_read_timeout(std::chrono::seconds(120));
    return fixture_detail::to_answer(client.Post(path.c_str(), fixture_detail::auth(token),
                                                 body.is_null() ? std::string("{}") : body.dump(),
                                                 "application/json"));
}

inline testing::ProcessResult ServerFixture::cli(const std::string& token,
                                                 std::vector<std::string> args) {
    std::vector<std::string> argv = {"env", "DATAFIX_TOKEN=" + token, "DATAFIX_SERVER=" + url_,
                                     "HOME=" + dir_, DATAFIX_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::run_process(argv);
}

inline std::string ServerFixture::psql(const std::string& environment, const std::string& sql) {
    return fixture_detail::cluster(environment).psql(sql, database_);
}

inline std::string ServerFixture::server_log() const {
    return read_file(dir_ + "/server.log");
}

}  // namespace datafix::e2e
