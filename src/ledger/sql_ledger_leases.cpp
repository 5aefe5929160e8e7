// Run leases in the SQL ledger: one row per run a server is executing, written and renewed by
// that server, read by every server's recovery; the renewal also vouches for the outbox rows the
// server has claimed. Nothing private: numbers, names, times.
#include "ledger/sql_ledger.hpp"

namespace datafix::ledger {

void SqlLedger::hold_run_lease(const RunLease& lease) {
    auto session = pool_.acquire();
    SqlTransaction tx(*session, SqlTransaction::Mode::write);
    session->exec("DELETE FROM run_leases WHERE request = ? AND run = ?",
                  {SqlValue::of(lease.request), SqlValue::of(std::int64_t{lease.run})});
    session->exec(
        "INSERT INTO run_leases (request, run, owner, incarnation, expires_at) "
        "VALUES (?, ?, ?, ?, ?)",
        {SqlValue::of(lease.request), SqlValue::of(std::int64_t{lease.run}),
         SqlValue::of(lease.owner), SqlValue::of(lease.incarnation),
         SqlValue::of(to_millis(lease.expires_at))});
    tx.commit();
}

int SqlLedger::renew_run_leases(const std::string& incarnation, Time expires_at) {
    auto session = pool_.acquire();
    SqlTransaction tx(*session, SqlTransaction::Mode::write);
    auto renewed = session->exec("UPDATE run_leases SET expires_at = ? WHERE incarnation = ?",
                                 {SqlValue::of(to_millis(expires_at)), SqlValue::of(incarnation)});
    // The same heartbeat vouches for the outbox rows this process has claimed.
    session->exec(
        "UPDATE notifications SET claim_expires_at = ? WHERE claimed_incarnation = ? AND "
        "delivered_at IS NULL",
        {SqlValue::of(to_millis(expires_at)), SqlValue::of(incarnation)});
    tx.commit();
    return static_cast<int>(renewed);
}

void SqlLedger::release_run_lease(RequestNumber request, int run) {
    auto session = pool_.acquire();
    SqlTransaction tx(*session, SqlTransaction::Mode::write);
    session->exec("DELETE FROM run_leases WHERE request = ? AND run = ?",
                  {SqlValue::of(request), SqlValue::of(std::int64_t{run})});
    tx.commit();
}

std::vector<RunningRun> SqlLedger::running_runs() {
    auto session = pool_.acquire();
    SqlTransaction tx(*session, SqlTransaction::Mode::read);
    auto rows = session->query(
        "SELECT r.request, r.number, r.started_at, l.owner, l.incarnation, l.expires_at "
        "FROM runs r LEFT JOIN run_leases l ON l.request = r.request AND l.run = r.number "
        "WHERE r.state = 'running' ORDER BY r.started_at, r.request, r.number",
        {});
    tx.commit();
    std::vector<RunningRun> out;
    for (const auto& row : rows) {
        RunningRun r;
        r.request = row.integer(0);
        r.run = static_cast<int>(row.integer(1));
        r.started_at = from_millis(row.integer(2));
        if (!row.is_null(3)) {
            r.lease =
                RunLease{r.request, r.run, row.text(3), row.text(4), from_millis(row.integer(5))};
        }
        out.push_back(std::move(r));
    }
    return out;
}

}  // namespace datafix::ledger
