// A change request as data: everything the workflow needs to decide the next step, and
// everything the ledger persists for it. Plain values with no behaviour, so the workflow (a
// higher layer) can decide on them and the ledger can store them without knowing the rules.
//
// Private text (change SQL, verify SQL, verify results, database error messages) is held here in
// clear, in memory only; the ledger seals it before it reaches the disk.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/person.hpp"
#include "model/time.hpp"

namespace datafix::model {

using RequestNumber = std::int64_t;

enum class RequestStatus {
    open,       // in progress: claims, revisions, runs, approvals
    done,       // the last environment (prod) is applied; only reverts remain
    cancelled,  // stopped before prod; reverts of earlier environments remain possible
};

struct ChangeRequest {
    RequestNumber number = 0;
    std::string title;
    std::string reason;
    UserId requested_by = 0;     // a product owner
    std::string requested_date;  // the date the product owner asked for, "YYYY-MM-DD"
    std::string ticket;          // a link to the ticket or email thread
    UserId created_by = 0;
    Time created_at{};
    RequestStatus status = RequestStatus::open;

    bool operator==(const ChangeRequest&) const = default;
};

// The exclusive claim: one developer drives. The lease ends `lease_expires_at` unless the
// driver acts again.
struct Claim {
    UserId driver = 0;
    Time claimed_at{};
    Time lease_expires_at{};

    bool operator==(const Claim&) const = default;
};

struct Pair {
    UserId pair = 0;
    Time joined_at{};

    bool operator==(const Pair&) const = default;
};

// One statement of a revision as the SQL guard saw it: normalized text (literals -> $n) and
// hashes, never literal values.
struct StatementInfo {
    std::string normalized;
    std::string fingerprint;  // the SQL guard's fingerprint of the normalized statement
    std::string hash;         // SHA-256 of the exact statement text
    std::int64_t expected_rows = 0;

    bool operator==(const StatementInfo&) const = default;
};

struct Revision {
    int number = 0;           // 1, 2, ...
    std::string hash;         // SHA-256 over change text, verify text and expected counts
    std::string change_hash;  // SHA-256 of the exact change text
    std::string change_sql;   // sealed at rest
    std::string verify_sql;   // sealed at rest
    std::vector<StatementInfo> statements;
    bool all_rows = false;  // the request declares statements that touch every row
    UserId attached_by = 0;
    Time attached_at{};

    bool operator==(const Revision&) const = default;
};

enum class RunKind {
    preview,  // executed and rolled back: the evidence
    apply,    // executed and committed when the evidence matches
    revert,   // restores the before-images of an apply
    // executed once and held open (the environment's live mode): the pair's approval of what it
    // shows commits it; a cancel or the end of its window rolls it back. Once committed it
    // counts as the environment's apply.
    live,
};

enum class RunState {
    running,      // started; the target session is working
    succeeded,    // preview: evidence recorded; apply/revert: committed
    failed,       // rolled back, nothing changed
    in_doubt,     // COMMIT was sent and its outcome is unknown; must be resolved
    rolled_back,  // an in-doubt run resolved as not committed
};

struct Run {
    int number = 0;  // per request: 1, 2, ...
    int revision = 0;
    std::string revision_hash;
    std::string environment;
    RunKind kind = RunKind::preview;
    RunState state = RunState::running;
    UserId started_by = 0;
    Time started_at{};
    std::optional<Time> finished_at;
    std::vector<std::int64_t> counts;  // actual rows per statement
    std::string fingerprint;           // the evidence fingerprint (preview) or applied evidence
    std::optional<std::int64_t> xid;   // recorded before COMMIT (apply, revert)
    std::optional<std::int64_t> backend_pid;
    std::string before_images_path;  // sealed files written by the target layer
    std::string after_images_path;
    std::string verify_results;  // sealed at rest
    std::string failure;         // sealed at rest: database messages may quote values
    int applies_run = 0;         // revert: the apply run it reverts

    bool operator==(const Run&) const = default;
};

enum class ApprovalKind {
    evidence,          // the pair approves a preview's evidence in one environment
    product_owner,     // the requesting product owner approves prod after the test apply
    emergency_revert,  // the pair approves reverting prod
};

struct Approval {
    int number = 0;  // per request: 1, 2, ...
    ApprovalKind kind = ApprovalKind::evidence;
    std::string environment;
    int revision = 0;
    std::string revision_hash;
    std::string fingerprint;  // the evidence approved (empty for product_owner)
    UserId approved_by = 0;
    Time approved_at{};
    bool voided = false;  // a new revision or a pair change voids earlier approvals

    bool operator==(const Approval&) const = default;
};

// A backup taken before an environment's apply (issue 5 fills these; the rule is here already).
struct Backup {
    int number = 0;
    std::string environment;
    int revision = 0;
    bool verified = false;
    Time taken_at{};
    std::int64_t size_bytes = 0;
    std::string sha256;
    std::string location;  // file path or the external command's reference
    UserId recorded_by = 0;

    bool operator==(const Backup&) const = default;
};

enum class CommentKind {
    comment,            // a remark in the request's conversation
    changes_requested,  // the pair or the product owner sent the request back to its driver
};

// One entry of a request's conversation. The text is private like the reason: sealed at rest,
// shown only to the request's people, never in the audit trail, logs or notifications.
struct Comment {
    int number = 0;  // per request: 1, 2, ...
    CommentKind kind = CommentKind::comment;
    std::string text;  // sealed at rest
    UserId author = 0;
    Time at{};
    int revision = 0;   // the current revision when it was written (0: none yet)
    int after_run = 0;  // the latest run when it was written (0: none yet)

    bool operator==(const Comment&) const = default;
};

// Who took part on each side of four-eyes, over the request's whole life: a released claim or
// a left pair does not take anyone off. A step taken with a token an admin issued for someone
// else counts for that admin too. Ascending, no duplicates.
struct Participants {
    std::vector<UserId> drove;           // claimed, handed to, wrote, previewed, applied, reverted
    std::vector<UserId> paired;          // approved evidence or a revert as the pair
    std::vector<UserId> product_owners;  // approved production

    bool operator==(const Participants&) const = default;
};

struct RequestState {
    ChangeRequest request;
    std::optional<Claim> claim;
    std::optional<Pair> pair;
    std::vector<Revision> revisions;  // ascending by number
    std::vector<Run> runs;            // ascending by number
    std::vector<Approval> approvals;  // ascending by number
    std::vector<Backup> backups;      // ascending by number
    Participants participants;
    std::vector<Comment> comments;  // ascending by number
    std::int64_t version = 0;       // bumped by the ledger on every committed change

    bool operator==(const RequestState&) const = default;

    const Revision* current_revision() const {
        return revisions.empty() ? nullptr : &revisions.back();
    }
};

std::string_view status_name(RequestStatus status);
std::optional<RequestStatus> parse_status(std::string_view name);
std::string_view run_kind_name(RunKind kind);
std::optional<RunKind> parse_run_kind(std::string_view name);
std::string_view run_state_name(RunState state);
std::optional<RunState> parse_run_state(std::string_view name);
std::string_view approval_kind_name(ApprovalKind kind);
std::optional<ApprovalKind> parse_approval_kind(std::string_view name);
std::string_view comment_kind_name(CommentKind kind);
std::optional<CommentKind> parse_comment_kind(std::string_view name);

}  // namespace datafix::model
