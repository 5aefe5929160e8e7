// Versioned schema migrations: numbered, applied in order inside one transaction each, recorded
// in schema_version. A ledger whose schema is newer than this binary is refused, so an older
// server never writes to a store it does not understand.
#pragma once

#include "ledger/sql_session.hpp"

namespace datafix::ledger {

// The schema version this binary writes.
int latest_schema_version();

// Applies pending migrations; returns the version afterwards. Error(config) for a newer ledger.
int migrate(SqlSession& session);

// The version recorded in the ledger (0 for an empty store).
int current_schema_version(SqlSession& session);

}  // namespace datafix::ledger
