// The audit trail: append-only and hash-chained. Each entry carries who, when, what, on which
// request and environment, the statement hash and the evidence fingerprint — hashes, normalized
// text and counts only, never a literal value. hash = SHA-256 over the canonical fields and the
// previous entry's hash, so an edited, reordered or deleted entry breaks the chain.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ledger/person.hpp"
#include "ledger/request_state.hpp"
#include "ledger/time.hpp"

namespace datafix::ledger {

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

// 64 zeros: the prev_hash of the first entry.
extern const std::string kAuditGenesisHash;

// SHA-256 over the canonical (length-prefixed) fields of `entry` and its prev_hash.
std::string audit_entry_hash(const AuditEntry& entry);

struct AuditCheck {
    bool intact = true;
    std::int64_t entries = 0;         // entries read
    std::optional<std::int64_t> seq;  // the first broken entry (intact == false)
    std::string reason;               // why it is broken: edited, reordered, deleted
};

// Checks a sequence of entries read in storage order, plus the recorded head (last seq and hash)
// so a deleted last entry is noticed too. Pure: used by every ledger backend.
AuditCheck check_audit_chain(const std::vector<AuditEntry>& entries,
                             std::optional<std::int64_t> head_seq, const std::string& head_hash);

struct AuditQuery {
    std::optional<RequestNumber> request;
    std::int64_t after_seq = 0;
    int limit = 1000;
};

}  // namespace datafix::ledger
