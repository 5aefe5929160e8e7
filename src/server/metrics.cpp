// Rendering the Prometheus text exposition. Every status, kind and state the ledger knows is
// written, also at zero, so a dashboard's series exist before the first request reaches them.
#include "server/metrics.hpp"

#include <initializer_list>
#include <sstream>

#include "core/version.hpp"

namespace datafix::server {

namespace {

// Methods are the label's only free text; anything unusual is counted as "other" so a client
// cannot create series at will.
std::string method_label(const std::string& method) {
    for (const char* known : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
        if (method == known) {
            return method;
        }
    }
    return "other";
}

void header(std::ostringstream& out, const char* name, const char* type, const char* help) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
}

std::string number(double value) {
    std::ostringstream s;
    s.precision(17);
    s << value;
    return s.str();
}

}  // namespace

void Metrics::observe_http(const std::string& method, int status,
                           std::chrono::steady_clock::duration took) {
    double seconds = std::chrono::duration<double>(took).count();
    std::string label = method_label(method);
    std::lock_guard lock(mutex_);
    ++answers_[{label, status}];
    Latency& l = latency_[label];
    ++l.count;
    l.sum += seconds;
    for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
        if (seconds <= kLatencyBuckets[i]) {
            ++l.buckets[i];
            break;
        }
    }
}

std::string Metrics::render(const ledger::LedgerStatistics& ledger) const {
    std::ostringstream out;
    header(out, "datafix_build_info", "gauge", "The running datafix's version.");
    out << "datafix_build_info{version=\"" << datafix::version() << "\"} 1\n";

    header(out, "datafix_requests", "gauge", "Change requests in the ledger, by status.");
    for (auto status : {model::RequestStatus::open, model::RequestStatus::done,
                        model::RequestStatus::cancelled}) {
        std::string name(model::status_name(status));
        auto it = ledger.requests_by_status.find(name);
        out << "datafix_requests{status=\"" << name << "\"} "
            << (it == ledger.requests_by_status.end() ? 0 : it->second) << '\n';
    }

    header(out, "datafix_runs", "gauge",
           "Runs in the ledger, by kind and outcome (running until they end).");
    for (auto kind : {model::RunKind::preview, model::RunKind::apply, model::RunKind::revert,
                      model::RunKind::live}) {
        for (auto state :
             {model::RunState::running, model::RunState::succeeded, model::RunState::failed,
              model::RunState::in_doubt, model::RunState::rolled_back}) {
            std::pair<std::string, std::string> key{std::string(model::run_kind_name(kind)),
                                                    std::string(model::run_state_name(state))};
            auto it = ledger.runs_by_kind_and_state.find(key);
            out << "datafix_runs{kind=\"" << key.first << "\",outcome=\"" << key.second << "\"} "
                << (it == ledger.runs_by_kind_and_state.end() ? 0 : it->second) << '\n';
        }
    }

    header(out, "datafix_notifications_undelivered", "gauge",
           "Notifications queued and not delivered yet (the outbox backlog).");
    out << "datafix_notifications_undelivered " << ledger.undelivered_notifications << '\n';
    header(out, "datafix_notifications_oldest_undelivered_seconds", "gauge",
           "Age of the oldest undelivered notification; 0 when none waits.");
    out << "datafix_notifications_oldest_undelivered_seconds "
        << number(ledger.oldest_undelivered_age
                      ? std::chrono::duration<double>(*ledger.oldest_undelivered_age).count()
                      : 0.0)
        << '\n';

    std::lock_guard lock(mutex_);
    header(out, "datafix_http_requests_total", "counter",
           "HTTP requests answered by a route, by method and status code.");
    for (const auto& [key, count] : answers_) {
        out << "datafix_http_requests_total{method=\"" << key.first << "\",code=\"" << key.second
            << "\"} " << count << '\n';
    }
    header(out, "datafix_http_request_duration_seconds", "histogram",
           "Time the route handlers took to answer, by method.");
    for (const auto& [method, l] : latency_) {
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
            cumulative += l.buckets[i];
            out << "datafix_http_request_duration_seconds_bucket{method=\"" << method << "\",le=\""
                << number(kLatencyBuckets[i]) << "\"} " << cumulative << '\n';
        }
        out << "datafix_http_request_duration_seconds_bucket{method=\"" << method
            << R"(",le="+Inf"} )" << l.count << '\n';
        out << "datafix_http_request_duration_seconds_sum{method=\"" << method << "\"} "
            << number(l.sum) << '\n';
        out << "datafix_http_request_duration_seconds_count{method=\"" << method << "\"} "
            << l.count << '\n';
    }
    return out.str();
}

}  // namespace datafix::server
