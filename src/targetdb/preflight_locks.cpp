// Reads pg_locks joined to pg_stat_activity. pg_locks is visible to every role; the activity
// columns (state, start times) are visible only for sessions of roles the current role has the
// privileges of, or with pg_read_all_stats, so those facts may be missing and are marked so.
#include "targetdb/preflight_locks.hpp"

#include <array>

#include "targetdb/connection.hpp"

namespace datafix::targetdb {

namespace {

constexpr const char* kLockHoldersSql = R"(
SELECT l.pid::text, l.mode, l.granted, coalesce(a.usename::text, ''),
       coalesce(a.application_name, ''), a.state IS NOT NULL, coalesce(a.state, ''),
       coalesce(to_char(a.xact_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), ''),
       coalesce(to_char(a.state_change AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), ''),
       floor(extract(epoch FROM clock_timestamp() - a.xact_start))::bigint::text
FROM pg_locks l
LEFT JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'relation'
  AND l.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
  AND l.relation = $1::oid
  AND l.pid IS DISTINCT FROM pg_backend_pid()
  AND l.mode <> 'AccessShareLock'
ORDER BY l.granted DESC, a.xact_start NULLS LAST, l.pid)";

}  // namespace

bool conflicts_with_row_exclusive(const std::string& mode) {
    static const std::array<const char*, 4> kConflicting = {"ShareLock", "ShareRowExclusiveLock",
                                                            "ExclusiveLock", "AccessExclusiveLock"};
    for (const char* m : kConflicting) {
        if (mode == m) {
            return true;
        }
    }
    return false;
}

std::vector<LockHolder> read_lock_holders(Connection& connection, const std::string& table_oid) {
    std::vector<LockHolder> out;
    auto r = connection.query(kLockHoldersSql, {table_oid});
    for (const auto& row : r.rows) {
        LockHolder h;
        if (row[0]) {
            h.pid = std::stoi(*row[0]);
        }
        h.mode = row[1].value_or("");
        h.granted = row[2].value_or("f") == "t";
        h.user = row[3].value_or("");
        h.application_name = row[4].value_or("");
        h.details_visible = row[5].value_or("f") == "t";
        h.state = row[6].value_or("");
        h.xact_start = row[7].value_or("");
        h.state_change = row[8].value_or("");
        if (row[9]) {
            h.seconds_in_transaction = std::stoll(*row[9]);
        }
        h.conflicts = conflicts_with_row_exclusive(h.mode);
        h.may_hold_row_locks =
            h.granted && (h.mode == "RowExclusiveLock" || h.mode == "RowShareLock");
        if (!h.conflicts && !h.may_hold_row_locks) {
            // ShareUpdateExclusiveLock (VACUUM, ANALYZE, CREATE INDEX CONCURRENTLY) and a queued
            // RowExclusiveLock never make this change wait.
            continue;
        }
        out.push_back(std::move(h));
    }
    return out;
}

std::string table_lock_for(StatementKind /*kind*/) {
    return "RowExclusiveLock";
}

std::string row_locks_for(StatementKind kind) {
    switch (kind) {
        case StatementKind::insert:
            return "none on existing rows; a unique index makes it wait for a concurrent insert "
                   "of the same key";
        case StatementKind::update:
            return "FOR NO KEY UPDATE on each row it updates (FOR UPDATE when a key column "
                   "changes), until the transaction ends";
        case StatementKind::delete_:
            return "FOR UPDATE on each row it deletes, until the transaction ends";
        case StatementKind::merge:
            return "FOR UPDATE or FOR NO KEY UPDATE on each row it updates or deletes, until the "
                   "transaction ends";
    }
    return {};
}

}  // namespace datafix::targetdb
