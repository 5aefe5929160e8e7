// HTTP server under hostile load: a real `datafix server` (SQLite ledger, default limits) on
// loopback. /healthz and an authenticated GET of a request's state are timed idle, then again
// while 1,000 live event streams are open and 200 connections drip their headers a byte at a time
// (reopened whenever the server cuts them off, as an attacker would). Prints p50/p99 of both,
// idle and under load, and what the load amounted to.
//
//   build/bench/bench_http [seconds per phase] [streams] [slow connections]
//
// The load comes from 127.0.0.2 and up (Linux routes all of 127/8 to loopback), at most 100
// connections per address, so the server's default per-address limit (128) admits it; the timed
// clients use 127.0.0.1.
#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>  // NOLINT(modernize-deprecated-headers): the POSIX header
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "local_server.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr int kPerAddress = 100;
constexpr int kStreamsPerPerson = 16;  // the server's default max_streams_per_person
constexpr int kProbeClients = 4;
constexpr auto kProbeEvery = 20ms;  // per client: 200 requests/s per endpoint in all

// A socket connected to the server from 127.0.0.`octet`; -1 on failure.
int connect_from(int octet, int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl((127u << 24) | static_cast<unsigned>(octet));
    sockaddr_in server{};
    server.sin_family = AF_INET;
    server.sin_port = htons(static_cast<std::uint16_t>(port));
    ::inet_pton(AF_INET, "127.0.0.1", &server.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
        ::connect(fd, reinterpret_cast<sockaddr*>(&server), sizeof server) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Sends `request` and reads until `marker`; false on a closed connection or after 10 s.
bool send_and_wait(int fd, const std::string& request, const std::string& marker) {
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
        return false;
    }
    std::string got;
    auto deadline = Clock::now() + 10s;
    while (got.find(marker) == std::string::npos && Clock::now() < deadline) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) {
            continue;
        }
        char buf[4096];
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            return false;
        }
        got.append(buf, static_cast<std::size_t>(n));
    }
    return got.find(marker) != std::string::npos;
}

// Connections that never finish their headers: a byte every half second, reopened when the
// server cuts one off.
class SlowClients {
  public:
    SlowClients(int count, int first_octet, int port) : port_(port) {
        for (int i = 0; i < count; ++i) {
            octets_.push_back(first_octet + i / kPerAddress);
            fds_.push_back(open(octets_.back()));
        }
        thread_ = std::thread([this] { drip(); });
    }
    ~SlowClients() {
        stop_ = true;
        thread_.join();
        for (int fd : fds_) {
            ::close(fd);
        }
    }
    int open_now() const { return open_; }
    long reopened() const { return reopened_; }

  private:
    int open(int octet) {
        int fd = connect_from(octet, port_);
        const std::string start = "GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ";
        if (fd >= 0) {
            ::send(fd, start.data(), start.size(), MSG_NOSIGNAL);
        }
        return fd;
    }
    void drip() {
        while (!stop_) {
            int held = 0;
            for (std::size_t i = 0; i < fds_.size(); ++i) {
                pollfd p{fds_[i], POLLIN, 0};
                bool cut = fds_[i] < 0 || ::poll(&p, 1, 0) > 0 ||
                           ::send(fds_[i], "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1;
                if (cut) {
                    ::close(fds_[i]);
                    fds_[i] = open(octets_[i]);
                    ++reopened_;
                }
                held += fds_[i] >= 0 ? 1 : 0;
            }
            open_ = held;
            std::this_thread::sleep_for(500ms);
        }
    }

    int port_;
    std::vector<int> octets_;
    std::vector<int> fds_;
    std::atomic<int> open_{0};
    std::atomic<long> reopened_{0};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

double percentile(std::vector<double> v, double p) {
    if (v.empty()) {
        return 0;
    }
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * v.size()))];
}

struct Timing {
    std::vector<double> ms;
    long failed = 0;
};

// kProbeClients keep-alive clients each send every kProbeEvery for `seconds`; latency counts from
// the scheduled send time, so a stall is not hidden by a client that waited (coordinated
// omission).
Timing probe(const std::string& url, const std::string& path, const std::string& token,
             int seconds) {
    std::vector<Timing> per(kProbeClients);
    std::vector<std::thread> threads;
    auto start = Clock::now() + 50ms;
    for (int i = 0; i < kProbeClients; ++i) {
        threads.emplace_back([&, i] {
            httplib::Client client(url);
            client.set_keep_alive(true);
            client.set_tcp_nodelay(true);
            if (!token.empty()) {
                client.set_bearer_token_auth(token);
            }
            auto at = start + kProbeEvery * i / kProbeClients;
            auto end = start + std::chrono::seconds(seconds);
            while (at < end) {
                std::this_thread::sleep_until(at);
                auto r = client.Get(path.c_str());
                if (r && r->status == 200) {
                    per[i].ms.push_back(
                        std::chrono::duration<double, std::milli>(Clock::now() - at).count());
                } else {
                    ++per[i].failed;
                }
                at += kProbeEvery;
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    Timing all;
    for (auto& p : per) {
        all.ms.insert(all.ms.end(), p.ms.begin(), p.ms.end());
        all.failed += p.failed;
    }
    return all;
}

void report(const char* what, const char* phase, const Timing& t) {
    std::printf("%-16s %-10s p50 %7.2f ms  p99 %7.2f ms  (%zu ok, %ld failed)\n", what, phase,
                percentile(t.ms, 0.50), percentile(t.ms, 0.99), t.ms.size(), t.failed);
}

}  // namespace

int main(int argc, char** argv) {
    int seconds = argc > 1 ? std::atoi(argv[1]) : 5;
    int stream_count = argc > 2 ? std::atoi(argv[2]) : 1000;
    int slow_count = argc > 3 ? std::atoi(argv[3]) : 200;
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);

    datafix::bench::LocalServer server;
    std::string reader = server.post(
        server.admin, "/api/users",
        {{"name", "Reader"}, {"email", "reader@example.com"}, {"role", "developer"}})["token"];
    std::string po = server.post(
        server.admin, "/api/users",
        {{"name", "Owner"}, {"email", "po@example.com"}, {"role", "product_owner"}})["token"];
    server.post(po, "/api/requests", {{"title", "bench"}, {"reason", "bench"}});
    std::vector<std::string> watchers;
    for (int i = 0; i * kStreamsPerPerson < stream_count; ++i) {
        watchers.push_back(server.post(server.admin, "/api/users",
                                       {{"name", "Watcher " + std::to_string(i)},
                                        {"email", "w" + std::to_string(i) + "@example.com"},
                                        {"role", "developer"}})["token"]);
    }

    Timing health_idle = probe(server.url, "/healthz", "", seconds);
    Timing get_idle = probe(server.url, "/api/requests/1", reader, seconds);

    std::vector<int> streams;
    auto opening = Clock::now();
    for (int i = 0; i < stream_count; ++i) {
        int fd = connect_from(2 + i / kPerAddress, server.port);
        std::string request =
            "GET /api/requests/1/events HTTP/1.1\r\nHost: localhost\r\n"
            "Authorization: Bearer " +
            watchers[i / kStreamsPerPerson] + "\r\n\r\n";
        if (fd < 0 || !send_and_wait(fd, request, "event: watching")) {
            std::fprintf(stderr, "stream %d did not open\n", i);
            ::close(fd);
            continue;
        }
        streams.push_back(fd);
    }
    double open_s = std::chrono::duration<double>(Clock::now() - opening).count();
    SlowClients slow(slow_count, 2 + (stream_count + kPerAddress - 1) / kPerAddress, server.port);
    std::this_thread::sleep_for(1s);

    Timing health_load = probe(server.url, "/healthz", "", seconds);
    Timing get_load = probe(server.url, "/api/requests/1", reader, seconds);

    std::printf(
        "load: %zu live event streams open (opened in %.1f s), %d slow-header connections "
        "held (%ld cut off by the server and reopened)\n",
        streams.size(), open_s, slow.open_now(), slow.reopened());
    report("/healthz", "idle", health_idle);
    report("/healthz", "load", health_load);
    report("GET request", "idle", get_idle);
    report("GET request", "load", get_load);
    for (int fd : streams) {
        ::close(fd);
    }
    return 0;
}
