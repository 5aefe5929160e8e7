// The audit trail: append-only and chained. Each entry carries who, when, what, on which
// request and environment, the statement hash and the evidence fingerprint — hashes, normalized
// text and counts only, never a literal value. From the "audit.keyed" entry on, an entry's hash
// is a MAC (keyed BLAKE2b) over its canonical fields and the previous entry's hash, keyed with
// the audit key, which lives in a file outside the ledger: someone who can write the ledger but
// not read that file cannot recompute the chain after an edit. Entries before it (ledgers from
// before the key) keep their SHA-256 chain, and the first keyed entry's MAC covers the last of
// them, so they are covered too. A truncated tail is invisible to the chain itself; the head is
// published outside the ledger (log, notifications) and checked with verify's anchor.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "model/person.hpp"
#include "model/request_state.hpp"
#include "model/time.hpp"

namespace datafix::model {

// What a caller asks the ledger to record; the ledger adds seq, prev_hash and hash.
struct AuditEvent {
    Time at{};
    UserId actor = 0;    // 0: the system (migrations, first run)
    std::string action;  // stable name, e.g. "claim.taken", "apply.committed"
    std::optional<RequestNumber> request;
    std::string environment;
    std::string statement_hash;        // the revision hash when a statement is concerned
    std::string evidence_fingerprint;  // the evidence concerned, if any
    std::string detail;                // counts, numbers, hashes; never literal values
};

struct AuditEntry {
    std::int64_t seq = 0;
    AuditEvent event;
    std::string prev_hash;
    std::string hash;
};

// A head published outside the ledger ("seq:mac" in the log and in notifications): verify
// checks that the chain still holds it, so a rewrite or a truncated tail is noticed.
struct AuditAnchor {
    std::optional<std::int64_t> seq;  // absent: any entry with this hash
    std::string hash;
};

struct AuditCheck {
    bool intact = true;
    // false: the chain is keyed and no audit key was given, so nothing can be said about it.
    bool verifiable = true;
    std::int64_t entries = 0;                // entries read
    std::optional<std::int64_t> seq;         // the first broken entry (intact == false)
    std::string reason;                      // why it is broken: edited, reordered, deleted
    std::optional<std::int64_t> keyed_from;  // the "audit.keyed" entry, when there is one
    bool anchor_checked = false;             // an anchor was given and found
};

struct AuditQuery {
    std::optional<RequestNumber> request;
    std::int64_t after_seq = 0;
    int limit = 1000;
    // The newest `limit` entries (after after_seq) instead of the oldest; still returned in
    // ascending seq order.
    bool newest = false;
};

}  // namespace datafix::model
