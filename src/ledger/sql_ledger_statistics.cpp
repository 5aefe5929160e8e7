// What the ledger holds, counted for the server's /metrics: requests by status, runs by kind and
// state, and the notifications still waiting. Counts and times only, read in one transaction.
#include "ledger/sql_ledger.hpp"

namespace datafix::ledger {

LedgerStatistics SqlLedger::statistics(Time now) {
    auto session = pool_.acquire();
    SqlTransaction tx(*session, SqlTransaction::Mode::read);
    LedgerStatistics out;
    for (const auto& row : session->query(
             "SELECT status, COUNT(*) FROM requests GROUP BY status ORDER BY status", {})) {
        out.requests_by_status[row.text(0)] = row.integer(1);
    }
    for (const auto& row : session->query(
             "SELECT kind, state, COUNT(*) FROM runs GROUP BY kind, state ORDER BY kind, state",
             {})) {
        out.runs_by_kind_and_state[{row.text(0), row.text(1)}] = row.integer(2);
    }
    auto waiting = session->query(
        "SELECT COUNT(*), MIN(created_at) FROM notifications WHERE delivered_at IS NULL", {});
    tx.commit();
    if (!waiting.empty()) {
        out.undelivered_notifications = waiting.front().integer(0);
        if (auto oldest = waiting.front().optional_integer(1)) {
            out.oldest_undelivered_age =
                std::chrono::duration_cast<std::chrono::milliseconds>(now - from_millis(*oldest));
        }
    }
    return out;
}

}  // namespace datafix::ledger
