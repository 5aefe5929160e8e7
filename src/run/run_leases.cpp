// Run leases (see run_leases.hpp).
#include "run/run_leases.hpp"

#include <sodium.h>
#include <unistd.h>

#include <array>
#include <climits>

#include "core/hash.hpp"

namespace datafix::run {

namespace {

std::string host_name() {
    std::array<char, HOST_NAME_MAX + 1> name{};
    if (::gethostname(name.data(), name.size() - 1) != 0) {
        return "localhost";
    }
    return name.data();
}

std::string new_incarnation() {
    std::array<unsigned char, 16> bytes{};
    randombytes_buf(bytes.data(), bytes.size());
    return to_hex(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

}  // namespace

ServerIdentity server_identity(const std::string& instance, const std::string& data_dir) {
    return {instance.empty() ? host_name() + ":" + data_dir : instance, new_incarnation()};
}

RunLeases::RunLeases(Host& host, ServerIdentity identity, std::chrono::milliseconds lease)
    : host_(host),
      instance_(std::move(identity.instance)),
      incarnation_(std::move(identity.incarnation)),
      lease_(lease) {}

RunLeases::~RunLeases() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (heartbeat_.joinable()) {
        heartbeat_.join();
    }
}

RunLeases::Held::Held(RunLeases& leases, model::RequestNumber request, int run)
    : leases_(leases), request_(request), run_(run) {
    leases_.hold(request_, run_);
}

RunLeases::Held::~Held() {
    leases_.release(request_, run_);
}

void RunLeases::hold(model::RequestNumber request, int run) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        executing_.insert({request, run});
    }
    try {
        host_.with_ledger([&](ledger::Ledger& l) {
            l.hold_run_lease(ledger::RunLease{request, run, instance_, incarnation_,
                                              model::wall_clock_now() + lease_});
            return 0;
        });
    } catch (const std::exception& e) {
        host_.log().warn("request {} run {}: its lease was not recorded: {}", request, run,
                         e.what());
    }
}

void RunLeases::release(model::RequestNumber request, int run) noexcept {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        executing_.erase({request, run});
    }
    try {
        host_.with_ledger([&](ledger::Ledger& l) {
            l.release_run_lease(request, run);
            return 0;
        });
    } catch (const std::exception& e) {
        host_.log().warn("request {} run {}: its lease was not released: {}", request, run,
                         e.what());
    }
}

bool RunLeases::settleable(const ledger::RunningRun& run, model::Time now) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (executing_.contains({run.request, run.run})) {
            return false;
        }
    }
    if (!run.lease) {
        return run.started_at + lease_ <= now;
    }
    if (run.lease->incarnation == incarnation_) {
        return true;  // this process ended it, but could not record how
    }
    if (run.lease->owner == instance_) {
        return true;  // this server's own, from before it restarted
    }
    return run.lease->expires_at <= now;
}

void RunLeases::start_heartbeat(std::function<void()> sweep) {
    sweep_ = std::move(sweep);
    heartbeat_ = std::thread([this] { beat(); });
}

void RunLeases::beat() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!wake_.wait_for(lock, lease_ / 3, [this] { return stopping_; })) {
        lock.unlock();
        try {
            host_.with_ledger([&](ledger::Ledger& l) {
                return l.renew_run_leases(incarnation_, model::wall_clock_now() + lease_);
            });
            sweep_();
        } catch (const std::exception& e) {
            host_.log().warn("run leases: {}", e.what());
        }
        lock.lock();
    }
}

}  // namespace datafix::run
