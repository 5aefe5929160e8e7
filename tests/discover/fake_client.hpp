// The stand-in cluster client for discover tests: a temporary bin directory where `oc` and
// `kubectl` are tests/discover/fake_cluster_client.py, and the DATAFIX_FAKE_* variables that tell
// it what to answer, set for the life of the object and removed afterwards.
#pragma once

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace datafix::discover::testing {

inline const char* const kFakeVariables[] = {
    "DATAFIX_FAKE_PODS",          "DATAFIX_FAKE_CLUSTER",           "DATAFIX_FAKE_PROJECT",
    "DATAFIX_FAKE_LOG",           "DATAFIX_FAKE_PID_FILE",          "DATAFIX_FAKE_DIE_FILE",
    "DATAFIX_FAKE_FORWARD_ERROR", "DATAFIX_FAKE_GET_ERROR",         "DATAFIX_FAKE_IGNORE_NAMESPACE",
    "DATAFIX_FAKE_GET_HANG",      "DATAFIX_FAKE_FORWARD_HANG",      "DATAFIX_FAKE_PORT_TAKEN_ONCE",
    "DATAFIX_FAKE_ENV_FILE",      "DATAFIX_FAKE_CONTEXT_NAMESPACES"};

class FakeClusterClient {
  public:
    FakeClusterClient() {
        std::string tmpl = "/tmp/datafix-discover-XXXXXX";
        if (::mkdtemp(tmpl.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        dir_ = tmpl;
        std::filesystem::create_directory(bin_dir());
        const std::string script = DATAFIX_SOURCE_DIR "/tests/discover/fake_cluster_client.py";
        std::filesystem::create_symlink(script, bin_dir() + "/oc");
        std::filesystem::create_symlink(script, bin_dir() + "/kubectl");
        for (const char* name : kFakeVariables) {
            ::unsetenv(name);
        }
        set("DATAFIX_FAKE_LOG", file("invocations.log"));
        set("DATAFIX_FAKE_PID_FILE", file("forward.pid"));
    }
    ~FakeClusterClient() {
        for (const char* name : kFakeVariables) {
            ::unsetenv(name);
        }
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    FakeClusterClient(const FakeClusterClient&) = delete;
    FakeClusterClient& operator=(const FakeClusterClient&) = delete;

    void set(const std::string& name, const std::string& value) {
        ::setenv(name.c_str(), value.c_str(), 1);
    }
    std::string bin_dir() const { return dir_ + "/bin"; }
    std::string file(const std::string& name) const { return dir_ + "/" + name; }

    // Every command the client was asked to run, one line each ("oc -n ns get pods ...").
    std::vector<std::string> invocations() const {
        std::ifstream in(file("invocations.log"));
        std::vector<std::string> lines;
        for (std::string line; std::getline(in, line);) {
            lines.push_back(line);
        }
        return lines;
    }

    // The pid of the running port-forward, once it listens.
    int forward_pid() const {
        std::ifstream in(file("forward.pid"));
        int pid = -1;
        in >> pid;
        return pid;
    }

  private:
    std::string dir_;
};

// One DATAFIX_FAKE_PODS entry.
inline std::string fake_pod(const std::string& name, const std::string& ns,
                            const std::string& phase, bool ready, const std::string& role, int port,
                            bool terminating = false) {
    return name + ":" + ns + ":" + phase + ":" + (ready ? "true" : "false") + ":" + role + ":" +
           std::to_string(port) + (terminating ? ":terminating" : "");
}

// True while `pid` (or, negative, a process group) exists. A zombie still exists: the tests reap
// what they start, so "gone" means really gone.
inline bool process_exists(int pid) {
    return ::kill(pid, 0) == 0 || errno == EPERM;
}

// True once `pid` has exited: gone, or a zombie its parent has not reaped yet.
inline bool has_ended(int pid) {
    if (!process_exists(pid)) {
        return true;
    }
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = stat.rfind(')');
    return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
}

// Waits up to `limit` for `pid` to have exited (reaped or not).
inline bool ended_within(int pid, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!has_ended(pid)) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

// Waits up to `limit` for `pid` to be gone.
inline bool gone_within(int pid, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (process_exists(pid)) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

}  // namespace datafix::discover::testing
