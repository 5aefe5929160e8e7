// The audit chain's hashes and its check (audit_chain.cpp), over the entries of model/audit.hpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto.hpp"
#include "model/audit.hpp"

namespace datafix::ledger {

using model::AuditAnchor;
using model::AuditCheck;
using model::AuditEntry;

// 64 zeros: the prev_hash of the first entry.
extern const std::string kAuditGenesisHash;

// The action of the entry from which the chain is keyed (actor 0, the system).
extern const std::string kAuditKeyedAction;

// SHA-256 over the canonical (length-prefixed) fields of `entry` and its prev_hash: the hash of
// entries written before the chain was keyed.
std::string audit_entry_hash(const AuditEntry& entry);
// The keyed MAC over the same fields: the hash of the "audit.keyed" entry and every later one.
std::string audit_entry_mac(const AuditEntry& entry, const Key& audit_key);

// Parses "SEQ:HEX" or "HEX" (64 hex digits); nothing when malformed.
std::optional<AuditAnchor> parse_audit_anchor(std::string_view text);
// "SEQ:HEX", as published.
std::string format_audit_anchor(const AuditEntry& entry);

// Checks a sequence of entries read in storage order, plus the recorded head (last seq and hash)
// so a deleted last entry is noticed too, and `anchor` when given. `audit_key` null: only an
// unkeyed chain can be checked. Pure: used by every ledger backend.
AuditCheck check_audit_chain(const std::vector<AuditEntry>& entries,
                             std::optional<std::int64_t> head_seq, const std::string& head_hash,
                             const Key* audit_key = nullptr,
                             const std::optional<AuditAnchor>& anchor = std::nullopt);

}  // namespace datafix::ledger
