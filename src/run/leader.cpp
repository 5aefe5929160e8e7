// Opening a target session through leader discovery, and naming a dead port-forward when a
// connection through it fails.
#include "run/leader.hpp"

#include <chrono>
#include <optional>

#include "discover/leader.hpp"

namespace datafix::run {

namespace {

// The client may take a moment to exit after the relay broke; a lost connection waits this long
// for it before blaming the database instead.
constexpr std::chrono::milliseconds kForwardGrace{2000};

}  // namespace

struct LeaderSession::Reached {
    discover::ReachedLeader leader;
};

LeaderSession::LeaderSession(const EnvironmentConfig& environment) {
    targetdb::EnvironmentTarget target = environment.target;
    if (environment.pods) {
        forward_ = std::make_unique<Reached>(Reached{discover::find_leader(*environment.pods)});
        target.conninfo = forward_->leader.conninfo();
        pod_ = forward_->leader.pod().name;
    }
    try {
        session_ = std::make_unique<targetdb::Session>(targetdb::Session::open(target));
    } catch (const Error& e) {
        Error explained = explain(e);
        if (explained.message() != e.message()) {
            throw explained;
        }
        throw;
    }
}

LeaderSession::~LeaderSession() {
    session_.reset();  // closes the connection before the forward stops under it
}

targetdb::Session& LeaderSession::session() {
    return *session_;
}

Error LeaderSession::explain(const Error& failure) {
    if (!forward_ || !forward_->leader.has_forward() || failure.code() != ErrorCode::unreachable) {
        return failure;
    }
    try {
        forward_->leader.forward().check_alive(kForwardGrace);
    } catch (const Error& ended) {
        return Error(ended.code(), ended.message() + " (" + failure.message() + ")", ended.hint());
    }
    return failure;
}

std::string LeaderSession::forward_failure() {
    if (!forward_ || !forward_->leader.has_forward()) {
        return {};
    }
    try {
        forward_->leader.forward().check_alive(kForwardGrace);
    } catch (const Error& ended) {
        return ended.message();
    }
    return {};
}

}  // namespace datafix::run
