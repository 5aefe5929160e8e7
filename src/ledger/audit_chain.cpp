// The audit chain's hash and its check, shared by every ledger backend.
#include "core/hash.hpp"
#include "ledger/audit.hpp"

namespace datafix::ledger {

const std::string kAuditGenesisHash(64, '0');

std::string audit_entry_hash(const AuditEntry& entry) {
    const AuditEvent& e = entry.event;
    Sha256 h;
    h.update_field("datafix-audit-v1");
    h.update_field(std::to_string(entry.seq));
    h.update_field(std::to_string(to_millis(e.at)));
    h.update_field(std::to_string(e.actor));
    h.update_field(e.action);
    h.update_field(e.request.has_value() ? std::to_string(*e.request) : std::string());
    h.update_field(e.environment);
    h.update_field(e.statement_hash);
    h.update_field(e.evidence_fingerprint);
    h.update_field(e.detail);
    h.update_field(entry.prev_hash);
    return h.hex_digest();
}

AuditCheck check_audit_chain(const std::vector<AuditEntry>& entries,
                             std::optional<std::int64_t> head_seq, const std::string& head_hash) {
    AuditCheck check;
    std::string previous_hash = kAuditGenesisHash;
    std::int64_t expected_seq = 1;
    auto broken = [&check](std::int64_t seq, std::string reason) {
        check.intact = false;
        check.seq = seq;
        check.reason = std::move(reason);
        return check;
    };
    for (const AuditEntry& entry : entries) {
        ++check.entries;
        if (entry.seq != expected_seq) {
            return broken(expected_seq, entry.seq > expected_seq
                                            ? "entry missing: seq " + std::to_string(expected_seq) +
                                                  " was deleted (next present is " +
                                                  std::to_string(entry.seq) + ")"
                                            : "entries out of order: seq " +
                                                  std::to_string(entry.seq) + " found where " +
                                                  std::to_string(expected_seq) + " was expected");
        }
        if (entry.prev_hash != previous_hash) {
            return broken(entry.seq, "chain broken: prev_hash does not match the hash of entry " +
                                         std::to_string(entry.seq - 1) +
                                         " (an entry was deleted or reordered)");
        }
        if (audit_entry_hash(entry) != entry.hash) {
            return broken(entry.seq, "entry edited: its fields do not match its hash");
        }
        previous_hash = entry.hash;
        ++expected_seq;
    }
    const std::int64_t last = expected_seq - 1;
    if (head_seq.has_value() && *head_seq != last) {
        return broken(last + 1, "entries missing at the end: the head records seq " +
                                    std::to_string(*head_seq) + " but the last entry is " +
                                    std::to_string(last));
    }
    if (head_seq.has_value() && head_hash != previous_hash) {
        return broken(last, "the head's hash does not match the last entry (edited)");
    }
    return check;
}

}  // namespace datafix::ledger
