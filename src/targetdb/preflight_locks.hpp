// Pre-flight lock facts: the locks a statement takes, and the other sessions holding (or queued
// for) a lock on a written table that the run would wait behind. Row locks are invisible in
// pg_locks; a transaction that holds RowExclusiveLock or RowShareLock on the table may hold them,
// so those sessions are reported too.
#pragma once

#include <string>
#include <vector>

#include "targetdb/preflight.hpp"

namespace datafix::targetdb {

class Connection;

// Sessions other than this one with a lock on the table stronger than AccessShareLock.
std::vector<LockHolder> read_lock_holders(Connection& connection, const std::string& table_oid);

// True when `mode` conflicts with RowExclusiveLock, the lock every INSERT/UPDATE/DELETE/MERGE
// takes on its table.
bool conflicts_with_row_exclusive(const std::string& mode);

std::string table_lock_for(StatementKind kind);
std::string row_locks_for(StatementKind kind);

}  // namespace datafix::targetdb
