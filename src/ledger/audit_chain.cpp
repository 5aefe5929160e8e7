// The audit chain's hash, MAC and check, shared by every ledger backend.
#include <cctype>

#include "core/hash.hpp"
#include "ledger/audit_chain.hpp"
#include "ledger/model_types.hpp"
#include "model/audit.hpp"

namespace datafix::ledger {

const std::string kAuditGenesisHash(64, '0');
const std::string kAuditKeyedAction = "audit.keyed";

namespace {

// The canonical fields, fed to SHA-256 (unkeyed entries) or the keyed MAC.
template <class Hasher>
void feed(Hasher& h, const AuditEntry& entry, std::string_view version) {
    const AuditEvent& e = entry.event;
    h.update_field(version);
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
}

bool is_hex64(std::string_view s) {
    if (s.size() != 64) {
        return false;
    }
    for (char c : s) {
        if (std::isxdigit(static_cast<unsigned char>(c)) == 0) {
            return false;
        }
    }
    return true;
}

std::string lower(std::string s) {
    for (char& c : s) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return s;
}

}  // namespace

std::string audit_entry_hash(const AuditEntry& entry) {
    Sha256 h;
    feed(h, entry, "datafix-audit-v1");
    return h.hex_digest();
}

std::string audit_entry_mac(const AuditEntry& entry, const Key& audit_key) {
    KeyedHash h(audit_key);
    feed(h, entry, "datafix-audit-v2-keyed");
    return h.hex_digest();
}

std::optional<AuditAnchor> parse_audit_anchor(std::string_view text) {
    AuditAnchor anchor;
    if (auto colon = text.find(':'); colon != std::string_view::npos) {
        std::string_view seq = text.substr(0, colon);
        if (seq.empty() || seq.size() > 18) {
            return std::nullopt;
        }
        std::int64_t n = 0;
        for (char c : seq) {
            if (std::isdigit(static_cast<unsigned char>(c)) == 0) {
                return std::nullopt;
            }
            n = n * 10 + (c - '0');
        }
        anchor.seq = n;
        text = text.substr(colon + 1);
    }
    if (!is_hex64(text)) {
        return std::nullopt;
    }
    anchor.hash = lower(std::string(text));
    return anchor;
}

std::string format_audit_anchor(const AuditEntry& entry) {
    return std::to_string(entry.seq) + ":" + entry.hash;
}

AuditCheck check_audit_chain(const std::vector<AuditEntry>& entries,
                             std::optional<std::int64_t> head_seq, const std::string& head_hash,
                             const Key* audit_key, const std::optional<AuditAnchor>& anchor) {
    AuditCheck check;
    for (const AuditEntry& entry : entries) {
        if (entry.event.action == kAuditKeyedAction && entry.event.actor == 0) {
            check.keyed_from = entry.seq;
            break;
        }
    }
    auto broken = [&check](std::int64_t seq, std::string reason) {
        check.intact = false;
        check.seq = seq;
        check.reason = std::move(reason);
        return check;
    };
    if (audit_key == nullptr && check.keyed_from.has_value()) {
        check.intact = false;
        check.verifiable = false;
        check.entries = static_cast<std::int64_t>(entries.size());
        check.reason = "the chain is keyed from entry " + std::to_string(*check.keyed_from) +
                       " and cannot be verified without the audit key file";
        return check;
    }
    if (audit_key != nullptr && !check.keyed_from.has_value() && !entries.empty()) {
        check.entries = static_cast<std::int64_t>(entries.size());
        return broken(entries.front().seq,
                      "no entry of the chain is keyed: it was rewritten without the audit key, or "
                      "the audit key belongs to another ledger");
    }
    std::string previous_hash = kAuditGenesisHash;
    std::int64_t expected_seq = 1;
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
        const bool keyed = check.keyed_from.has_value() && entry.seq >= *check.keyed_from;
        const std::string expected =
            keyed ? audit_entry_mac(entry, *audit_key) : audit_entry_hash(entry);
        if (expected != entry.hash) {
            return broken(entry.seq, keyed ? "entry edited: its fields do not match its keyed hash "
                                             "(the chain was recomputed without the audit key)"
                                           : "entry edited: its fields do not match its hash");
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
    if (anchor.has_value()) {
        for (const AuditEntry& entry : entries) {
            if (entry.hash == anchor->hash && (!anchor->seq || *anchor->seq == entry.seq)) {
                check.anchor_checked = true;
                return check;
            }
        }
        return broken(anchor->seq.value_or(last + 1),
                      "the published head " +
                          (anchor->seq ? std::to_string(*anchor->seq) + ":" : std::string()) +
                          anchor->hash.substr(0, 16) +
                          "… is not in the chain: the trail was rewritten or truncated after it "
                          "was published");
    }
    return check;
}

}  // namespace datafix::ledger
