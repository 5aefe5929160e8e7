// A guarded target session on one environment, reached the way the environment is configured:
// its conninfo as written (libpq's multi-host conninfo with target_session_attrs=read-write lands
// on the primary), or, for an OpenShift / Kubernetes environment, the leader pod found now and
// reached through a port-forward that lives exactly as long as the session (or, in-cluster, at
// the pod's IP). The executor opens
// one at every step that touches the database, so a failover between two steps is followed.
#pragma once

#include <memory>
#include <string>

#include "core/error.hpp"
#include "run/environment.hpp"
#include "targetdb/session.hpp"

namespace datafix::run {

class LeaderSession {
  public:
    // Discovers the leader (pod targets) and opens the guarded session. Throws discover's and
    // target's errors; a connection that fails because the port-forward ended names the forward.
    explicit LeaderSession(const EnvironmentConfig& environment);
    ~LeaderSession();

    LeaderSession(const LeaderSession&) = delete;
    LeaderSession& operator=(const LeaderSession&) = delete;

    targetdb::Session& session();
    // The leader pod reached ("" for a conninfo target), for logs and run summaries.
    const std::string& pod() const { return pod_; }

    // `failure` as it should reach the person: when it is a lost connection and the port-forward
    // has ended, discover's Error(unreachable) naming the pod and quoting the client, with the
    // original message after it; otherwise `failure` unchanged.
    Error explain(const Error& failure);
    // After an in-doubt outcome (no exception): why, when the port-forward ended; else "".
    std::string forward_failure();

  private:
    struct Reached;
    // Declared before the session so a forward outlives the connection that uses it.
    std::unique_ptr<Reached> forward_;
    std::unique_ptr<targetdb::Session> session_;
    std::string pod_;
};

// Runs `step` with an open LeaderSession on `environment`; an Error it throws is replaced by
// LeaderSession::explain's version while the forward still exists to be asked.
template <class Step>
auto on_leader(const EnvironmentConfig& environment, Step&& step) {
    LeaderSession leader(environment);
    try {
        return step(leader);
    } catch (const Error& e) {
        Error explained = leader.explain(e);
        if (explained.message() != e.message()) {
            throw explained;
        }
        throw;
    }
}

}  // namespace datafix::run
