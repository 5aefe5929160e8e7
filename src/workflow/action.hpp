// The steps a person (or the executor on the driver's behalf) asks for on a change request.
// One struct per step; an Action is one of them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "model/person.hpp"
#include "model/request_state.hpp"
#include "model/time.hpp"

namespace datafix::workflow {

// The authenticated person asking.
using Actor = model::Person;

// A developer becomes the driver (or the driver renews the lease).
struct ClaimRequest {};
// The driver gives the request up.
struct ReleaseClaim {};
// The driver hands the claim to another developer (not the pair).
struct HandOver {
    model::Person to;
};
// A second developer joins as the pair.
struct JoinPair {};
// The pair leaves; their pending approvals are voided.
struct LeavePair {};

// The driver attaches the change; the SQL guard has already accepted it and produced the
// normalized statements (with the expected row count of each).
struct AttachRevision {
    std::string change_sql;
    std::string verify_sql;
    std::vector<model::StatementInfo> statements;
    bool all_rows = false;
    // The driver confirmed that environments still holding an earlier revision's change are
    // put back first (each revert approved by the pair) before this revision runs anywhere.
    bool revert_first = false;
};

// The driver starts a run; the executor then reports it with RecordInFlight / FinishRun.
struct StartPreview {
    std::string environment;
};
struct StartApply {
    std::string environment;
    std::string fingerprint;  // the approved evidence to apply
};
struct StartRevert {
    std::string environment;
};

// Live mode (an environment with `live = true`): the driver runs the change once and its
// transaction stays open; the executor reports what it shows (RecordLiveEvidence); the pair's
// ApproveLive of exactly that evidence commits it; EndLive (a cancel by the driver or the pair,
// or the end of the window) rolls it back. Nothing is previewed, so nothing runs twice.
struct StartLive {
    std::string environment;
};
struct RecordLiveEvidence {
    int run = 0;
    std::string fingerprint;
    std::vector<std::int64_t> counts;
    std::string images_path;     // the run's evidence manifest, for the images view
    std::string verify_results;  // private: sealed by the ledger
};
struct ApproveLive {
    std::string environment;
    std::string revision_hash;
    std::string fingerprint;
};
enum class LiveEnd {
    cancelled,     // the driver or the pair cancelled
    window_ended,  // nobody approved within the environment's live_window
};
struct EndLive {
    int run = 0;
    LiveEnd why = LiveEnd::cancelled;
};

// Before COMMIT, the transaction id and backend pid (so an in-doubt outcome can be resolved).
struct RecordInFlight {
    int run = 0;
    std::int64_t xid = 0;
    std::int64_t backend_pid = 0;
};

enum class RunOutcome {
    succeeded,  // preview: evidence captured; apply/revert: committed
    failed,     // rolled back
    in_doubt,   // COMMIT sent, outcome unknown
};

struct FinishRun {
    int run = 0;
    RunOutcome outcome = RunOutcome::succeeded;
    std::vector<std::int64_t> counts;
    std::string fingerprint;
    std::string before_images_path;
    std::string after_images_path;
    std::string verify_results;  // private: sealed by the ledger
    std::string failure;         // private: sealed by the ledger
};

// The in-doubt outcome, as established by pg_xact_status or by comparing rows with the images.
struct ResolveInDoubt {
    int run = 0;
    bool committed = false;
};

// The pair approves the exact evidence of the latest preview in an environment.
struct ApproveEvidence {
    std::string environment;
    std::string revision_hash;
    std::string fingerprint;
};
// The requesting product owner approves the production step after the test apply.
struct ApproveProduction {
    std::string revision_hash;
};
// The pair approves reverting a production environment (an emergency).
struct ApproveEmergencyRevert {
    std::string environment;
    std::string revision_hash;
};

// A backup taken by the backup layer (issue 5).
struct RecordBackup {
    std::string environment;
    bool verified = false;
    model::Time taken_at{};
    std::int64_t size_bytes = 0;
    std::string sha256;
    std::string location;
};

// One of the request's people adds a remark to its conversation.
struct AddComment {
    std::string text;  // private like the reason: sealed, never in the audit trail
};
// The pair or the requesting product owner sends the request back to its driver: the pending
// approvals of the current revision are voided, and no new one is given until the driver
// previews again or attaches a new revision.
struct RequestChanges {
    std::string reason;  // private like the reason: sealed, never in the audit trail
};

struct CancelRequest {
    std::string reason;  // free text kept out of the audit trail (only its hash is recorded)
};

using Action = std::variant<ClaimRequest, ReleaseClaim, HandOver, JoinPair, LeavePair,
                            AttachRevision, StartPreview, StartApply, StartRevert, RecordInFlight,
                            FinishRun, ResolveInDoubt, ApproveEvidence, ApproveProduction,
                            ApproveEmergencyRevert, RecordBackup, CancelRequest, AddComment,
                            RequestChanges, StartLive, RecordLiveEvidence, ApproveLive, EndLive>;

// A stable name for logs and the API, e.g. "claim", "start-preview".
std::string_view action_name(const Action& action);

}  // namespace datafix::workflow
