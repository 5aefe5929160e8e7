// Server benchmark: a real `datafix server` (SQLite ledger) on loopback; 64 concurrent clients
// with keep-alive read one request's state for a few seconds (requests/s, p50, p99), then 64
// developers attempt to claim requests (claim attempts/s; one wins per request).
//
//   build-*/bench/bench_server [seconds]
#include <fcntl.h>
#include <httplib.h>
#include <signal.h>  // NOLINT(modernize-deprecated-headers): the POSIX header
#include <spawn.h>
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
constexpr int kClients = 64;

double percentile(std::vector<double>& v, double p) {
    if (v.empty()) {
        return 0;
    }
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * v.size()))];
}

// Runs `op` from kClients threads for `seconds`; returns (ok count, latencies in ms).
template <class Op>
std::pair<long, std::vector<double>> hammer(int seconds, Op op) {
    std::vector<std::vector<double>> latencies(kClients);
    std::atomic<long> ok{0};
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < kClients; ++i) {
        threads.emplace_back([&, i] {
            while (!stop) {
                auto t0 = Clock::now();
                bool good = op(i);
                latencies[i].push_back(
                    std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
                if (good) {
                    ++ok;
                }
            }
        });
    }
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    stop = true;
    for (auto& t : threads) {
        t.join();
    }
    std::vector<double> all;
    for (auto& l : latencies) {
        all.insert(all.end(), l.begin(), l.end());
    }
    return {ok.load(), all};
}

}  // namespace

int main(int argc, char** argv) {
    int seconds = argc > 1 ? std::atoi(argv[1]) : 5;
    datafix::bench::LocalServer server("worker_threads = 96\n");
    std::vector<std::string> developers;
    for (int i = 0; i < kClients; ++i) {
        developers.push_back(server.post(server.admin, "/api/users",
                                         {{"name", "Developer " + std::to_string(i)},
                                          {"email", "dev" + std::to_string(i) + "@example.com"},
                                          {"role", "developer"}})["token"]);
    }
    std::string po = server.post(
        server.admin, "/api/users",
        {{"name", "Owner"}, {"email", "po@example.com"}, {"role", "product_owner"}})["token"];
    server.post(po, "/api/requests", {{"title", "bench"}, {"reason", "bench"}});

    // One keep-alive connection per client, as a browser or wrk would hold.
    std::vector<std::unique_ptr<httplib::Client>> clients;
    for (int i = 0; i < kClients; ++i) {
        clients.push_back(std::make_unique<httplib::Client>(server.url));
        clients.back()->set_keep_alive(true);
        clients.back()->set_tcp_nodelay(true);
        clients.back()->set_bearer_token_auth(developers[i]);
    }
    auto [reads, read_lat] = hammer(seconds, [&](int i) {
        auto r = clients[i]->Get("/api/requests/1");
        return r && r->status == 200;
    });
    std::printf("read state   %d clients  %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  (%ld ok)\n",
                kClients, reads / static_cast<double>(seconds), percentile(read_lat, 0.50),
                percentile(read_lat, 0.99), reads);

    // Paced: 1,000 requests/s in total (each client every 64 ms), latency counted from the
    // scheduled send time, so a stall is not hidden by clients waiting (coordinated omission).
    {
        std::vector<std::vector<double>> lat(kClients);
        auto start = Clock::now() + std::chrono::milliseconds(100);
        std::vector<std::thread> threads;
        for (int i = 0; i < kClients; ++i) {
            threads.emplace_back([&, i] {
                auto at = start + std::chrono::microseconds(i * 1000);
                auto end = start + std::chrono::seconds(seconds);
                while (at < end) {
                    std::this_thread::sleep_until(at);
                    auto r = clients[i]->Get("/api/requests/1");
                    if (r && r->status == 200) {
                        lat[i].push_back(
                            std::chrono::duration<double, std::milli>(Clock::now() - at).count());
                    }
                    at += std::chrono::milliseconds(kClients);
                }
            });
        }
        for (auto& t : threads) {
            t.join();
        }
        std::vector<double> all;
        for (auto& l : lat) {
            all.insert(all.end(), l.begin(), l.end());
        }
        std::printf("paced state  %d clients  %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  (%zu ok)\n",
                    kClients, all.size() / static_cast<double>(seconds), percentile(all, 0.50),
                    percentile(all, 0.99), all.size());
    }

    // Claims: every client claims the current request; a winner makes the others file and claim
    // the next one, so attempts keep meeting real contention.
    std::atomic<long long> current{1};
    std::atomic<long> wins{0};
    auto [attempts_ok, claim_lat] = hammer(seconds, [&](int i) {
        long long n = current.load();
        auto r = clients[i]->Post(("/api/requests/" + std::to_string(n) + "/claim").c_str(), "{}",
                                  "application/json");
        if (r && r->status == 200) {
            ++wins;
            // A fresh request for the next round (filed on the product owner's behalf).
            nlohmann::json body = {
                {"title", "bench"}, {"reason", "bench"}, {"requested_by", "po@example.com"}};
            auto created = clients[i]->Post("/api/requests", body.dump(), "application/json");
            if (created && created->status == 201) {
                current = nlohmann::json::parse(created->body)["number"].get<long long>();
            }
        }
        return r && (r->status == 200 || r->status == 409);
    });
    std::printf(
        "claim        %d clients  %8.0f attempts/s  p50 %6.2f ms  p99 %6.2f ms  (%ld wins)\n",
        kClients, attempts_ok / static_cast<double>(seconds), percentile(claim_lat, 0.50),
        percentile(claim_lat, 0.99), wins.load());
    return 0;
}
