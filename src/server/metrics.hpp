// The server's /metrics in Prometheus' text format (version 0.0.4): what the ledger holds
// (requests by status, runs by kind and outcome, the notification backlog) read at each scrape,
// and the HTTP answers this process gave (counts by method and status, handler latency as a
// histogram) counted since it started. Counts and durations only: nothing private.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "ledger/ledger.hpp"

namespace datafix::server {

class Metrics {
  public:
    // Seconds; the last bucket is +Inf.
    static constexpr std::array<double, 12> kLatencyBuckets = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                               0.25,  0.5,   1,    2.5,   10,   60};

    // One answer a route handler gave. Safe to call from any thread.
    void observe_http(const std::string& method, int status,
                      std::chrono::steady_clock::duration took);

    // The whole exposition: `ledger` as read now, then the HTTP counters.
    std::string render(const ledger::LedgerStatistics& ledger) const;

  private:
    struct Latency {
        std::array<std::uint64_t, kLatencyBuckets.size()> buckets{};  // not cumulative
        std::uint64_t count = 0;
        double sum = 0;
    };
    mutable std::mutex mutex_;
    std::map<std::pair<std::string, int>, std::uint64_t> answers_;  // (method, status)
    std::map<std::string, Latency> latency_;                        // by method
};

}  // namespace datafix::server
