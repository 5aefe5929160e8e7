// What someone who can write the ledger but cannot read the audit key file does to hide an edit:
// rewrite entries, then recompute every later link with the (public) unkeyed hash so prev_hash
// and the head agree again. SQL text for either dialect.
#pragma once

#include <string>
#include <vector>

#include "ledger/audit_chain.hpp"
#include "model/audit.hpp"

namespace datafix::ledger::testing {

// `entries`: the whole chain as it is now (read_audit), with the attacker's edits applied in
// memory; returns the statements that store the recomputed links from `from_seq` on.
inline std::string rechain_unkeyed_sql(std::vector<AuditEntry> entries, std::int64_t from_seq) {
    std::string sql;
    std::string previous = kAuditGenesisHash;
    for (AuditEntry& entry : entries) {
        if (entry.seq >= from_seq) {
            entry.prev_hash = previous;
            entry.hash = audit_entry_hash(entry);
            sql += "UPDATE audit SET actor = " + std::to_string(entry.event.actor) +
                   ", action = '" + entry.event.action + "', prev_hash = '" + entry.prev_hash +
                   "', hash = '" + entry.hash + "' WHERE seq = " + std::to_string(entry.seq) +
                   ";\n";
        }
        previous = entry.hash;
    }
    if (!entries.empty()) {
        sql += "UPDATE audit_head SET seq = " + std::to_string(entries.back().seq) + ", hash = '" +
               entries.back().hash + "' WHERE id = 1;\n";
    }
    return sql;
}

}  // namespace datafix::ledger::testing
