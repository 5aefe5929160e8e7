// The result of an apply (or a revert apply, or an in-doubt resolution) that reached COMMIT.
// Refusals before COMMIT are datafix::Error (the transaction was rolled back); a COMMIT whose
// result was lost and could not be resolved yet is OutcomeStatus::in_doubt.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "targetdb/evidence.hpp"

namespace datafix::targetdb {

enum class OutcomeStatus { committed, not_committed, in_doubt };

struct Outcome {
    OutcomeStatus status = OutcomeStatus::in_doubt;
    std::string xid;  // pg_current_xact_id() of the run's transaction
    int backend_pid = 0;
    // BEGIN to the COMMIT's answer: how long the run held its locks.
    std::chrono::microseconds transaction_time{0};
    // Of that, the capture of the write closure (the second session's scan, the after-images).
    std::chrono::microseconds capture_time{0};
    // How the status was established: "commit acknowledged", "pg_xact_status", "row images".
    std::string resolved_by;
    // What the apply itself captured: the images a later revert restores from.
    Evidence applied;
};

// Handed the xid, the backend pid and the evidence the run saw, right before COMMIT is sent: the
// ledger persists them (and the images the evidence names are on disk), so a COMMIT whose answer
// was lost, or a server that died after sending it, can be resolved later against what this run
// wrote. Throwing from it rolls back.
using BeforeCommit =
    std::function<void(const std::string& xid, int backend_pid, const Evidence& seen)>;

// Fault injection for tests: runs after COMMIT was sent and before its result is read.
// `drop_connection` cuts the connection, as a network failure would.
struct CommitInFlight {
    std::string xid;
    int backend_pid = 0;
    std::function<void()> drop_connection;
};
using AfterCommitSent = std::function<void(const CommitInFlight&)>;

}  // namespace datafix::targetdb
