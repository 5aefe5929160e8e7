// The stand-in Kubernetes API for in-cluster discovery tests: a CA and a server certificate for
// 127.0.0.1 made here with openssl, a service account folder (token, ca.crt, namespace) as
// Kubernetes mounts it in a pod, and tests/discover/fake_kube_api.py serving HTTPS with that
// certificate. What the API answers is the JSON state file, read by the server at every request.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "harness/process.hpp"

extern char** environ;

namespace datafix::discover::testing {

class FakeKubeApi {
  public:
    FakeKubeApi() {
        std::string tmpl = "/tmp/datafix-kube-api-XXXXXX";
        if (::mkdtemp(tmpl.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        dir_ = tmpl;
        std::filesystem::create_directory(service_account_dir());
        make_ca("ca");
        make_ca("other-ca");
        make_server_certificate();
        std::filesystem::copy_file(file("ca.crt"), service_account_dir() + "/ca.crt");
        write(service_account_dir() + "/namespace", "ff61fb-tools");
        state_ = {{"token", ""},
                  {"pods", nlohmann::json::array()},
                  {"forbidden", nlohmann::json::array()}};
        rotate_token("token-1");
        start();
    }
    ~FakeKubeApi() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            int status = 0;
            ::waitpid(pid_, &status, 0);
        }
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    FakeKubeApi(const FakeKubeApi&) = delete;
    FakeKubeApi& operator=(const FakeKubeApi&) = delete;

    std::string api_server() const { return "https://127.0.0.1:" + std::to_string(port_); }
    int port() const { return port_; }
    std::string service_account_dir() const { return dir_ + "/serviceaccount"; }
    std::string file(const std::string& name) const { return dir_ + "/" + name; }
    // A CA that did not sign the server's certificate.
    std::string other_ca() const { return file("other-ca.crt"); }

    // What the API answers from now on.
    nlohmann::json& state() { return state_; }
    void publish() const {
        write(file("state.json.tmp"), state_.dump());
        std::filesystem::rename(file("state.json.tmp"), file("state.json"));
    }
    // One pod of the state's pod list.
    static nlohmann::json pod(const std::string& name, const std::string& ns,
                              const std::string& role, const std::string& ip, bool ready = true,
                              const std::string& phase = "Running") {
        return {{"name", name}, {"namespace", ns}, {"role", role},
                {"ip", ip},     {"ready", ready},  {"phase", phase}};
    }
    void set_pods(const nlohmann::json& pods) {
        state_["pods"] = pods;
        publish();
    }
    // Kubernetes rotates projected tokens: the file changes and the old token stops working.
    void rotate_token(const std::string& token) {
        write(service_account_dir() + "/token", token + "\n");
        state_["token"] = token;
        publish();
    }

    // Every request served so far, one JSON object each (method, path, query, token_ok).
    std::vector<nlohmann::json> requests() const {
        std::ifstream in(file("requests.jsonl"));
        std::vector<nlohmann::json> out;
        for (std::string line; std::getline(in, line);) {
            out.push_back(nlohmann::json::parse(line));
        }
        return out;
    }

  private:
    static void write(const std::string& path, const std::string& text) {
        std::ofstream out(path, std::ios::trunc);
        out << text;
    }

    static void openssl(std::vector<std::string> args) {
        args.insert(args.begin(), "openssl");
        const auto r = datafix::testing::run_process(args);
        if (r.status != 0) {
            throw std::runtime_error("openssl failed: " + r.err);
        }
    }

    void make_ca(const std::string& name) {
        openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-nodes", "-keyout", file(name + ".key"), "-out", file(name + ".crt"), "-days",
                 "2", "-subj", "/CN=datafix test " + name, "-addext",
                 "basicConstraints=critical,CA:TRUE", "-addext",
                 "keyUsage=critical,keyCertSign,cRLSign"});
    }

    void make_server_certificate() {
        write(file("server.ext"),
              "subjectAltName=IP:127.0.0.1,DNS:kubernetes.default.svc\n"
              "extendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n");
        openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", file("server.key"), "-out", file("server.csr"), "-subj",
                 "/CN=kube-apiserver"});
        openssl({"x509", "-req", "-in", file("server.csr"), "-CA", file("ca.crt"), "-CAkey",
                 file("ca.key"), "-CAcreateserial", "-out", file("server.crt"), "-days", "2",
                 "-extfile", file("server.ext")});
    }

    void start() {
        const std::string script = DATAFIX_SOURCE_DIR "/tests/discover/fake_kube_api.py";
        std::vector<std::string> argv = {"python3",     script,
                                         "--cert",      file("server.crt"),
                                         "--key",       file("server.key"),
                                         "--state",     file("state.json"),
                                         "--port-file", file("port"),
                                         "--log",       file("requests.jsonl")};
        std::vector<char*> args;
        for (auto& a : argv) {
            args.push_back(a.data());
        }
        args.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        const std::string out = file("server.out");
        posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                         0600);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        const int rc = ::posix_spawnp(&pid_, "python3", &actions, nullptr, args.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (rc != 0) {
            pid_ = -1;
            throw std::runtime_error("cannot start fake_kube_api.py");
        }
        // It writes its port once it listens; a bounded wait for a process start, not a test of
        // timing.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (!std::filesystem::exists(file("port"))) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                std::ifstream in(out);
                throw std::runtime_error("fake_kube_api.py ended: " +
                                         std::string(std::istreambuf_iterator<char>(in), {}));
            }
            if (std::chrono::steady_clock::now() > deadline) {
                throw std::runtime_error("fake_kube_api.py did not start");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        std::ifstream in(file("port"));
        in >> port_;
    }

    std::string dir_;
    nlohmann::json state_;
    pid_t pid_ = -1;
    int port_ = 0;
};

}  // namespace datafix::discover::testing
