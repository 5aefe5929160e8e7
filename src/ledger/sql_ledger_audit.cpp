// The audit trail in the SQL ledger. Appends happen inside the transaction that made the
// change; the one-row audit_head (locked FOR UPDATE on PostgreSQL, under the write lock on
// SQLite) orders appends from every server, so the chain has a single line.
#include "ledger/sql_ledger.hpp"

namespace datafix::ledger {

namespace {
constexpr std::string_view kAuditColumns =
    "SELECT seq, at, actor, action, request, environment, statement_hash, evidence_fingerprint, "
    "detail, prev_hash, hash FROM audit ";

AuditEntry entry_from(const SqlRow& r) {
    AuditEntry entry;
    entry.seq = r.integer(0);
    entry.event.at = from_millis(r.integer(1));
    entry.event.actor = r.integer(2);
    entry.event.action = r.text(3);
    entry.event.request = r.optional_integer(4);
    entry.event.environment = r.text(5);
    entry.event.statement_hash = r.text(6);
    entry.event.evidence_fingerprint = r.text(7);
    entry.event.detail = r.text(8);
    entry.prev_hash = r.text(9);
    entry.hash = r.text(10);
    return entry;
}
}  // namespace

AuditEntry SqlLedger::append_audit_in(SqlSession& session, const AuditEvent& event) {
    const bool lock = session.dialect() == Dialect::postgresql;
    auto head = session.query(
        std::string("SELECT seq, hash FROM audit_head WHERE id = 1") + (lock ? " FOR UPDATE" : ""),
        {});
    AuditEntry entry;
    entry.seq = head.at(0).integer(0) + 1;
    entry.prev_hash = head.at(0).text(1);
    entry.event = event;
    entry.hash = audit_entry_hash(entry);
    session.exec(
        "INSERT INTO audit (seq, at, actor, action, request, environment, statement_hash, "
        "evidence_fingerprint, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {SqlValue::of(entry.seq), SqlValue::of(to_millis(event.at)), SqlValue::of(event.actor),
         SqlValue::of(event.action), SqlValue::of(event.request), SqlValue::of(event.environment),
         SqlValue::of(event.statement_hash), SqlValue::of(event.evidence_fingerprint),
         SqlValue::of(event.detail), SqlValue::of(entry.prev_hash), SqlValue::of(entry.hash)});
    session.exec("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1",
                 {SqlValue::of(entry.seq), SqlValue::of(entry.hash)});
    return entry;
}

AuditEntry SqlLedger::append_audit(const AuditEvent& event) {
    auto session = pool_.acquire();
    SqlTransaction tx(*session, SqlTransaction::Mode::write);
    AuditEntry entry = append_audit_in(*session, event);
    tx.commit();
    return entry;
}

std::vector<AuditEntry> SqlLedger::read_audit(const AuditQuery& query) {
    auto session = pool_.acquire();
    std::string sql = std::string(kAuditColumns) + "WHERE seq > ? ";
    std::vector<SqlValue> params{SqlValue::of(query.after_seq)};
    if (query.request) {
        sql += "AND request = ? ";
        params.push_back(SqlValue::of(*query.request));
    }
    sql += "ORDER BY seq LIMIT ?";
    params.push_back(SqlValue::of(std::int64_t{query.limit}));
    std::vector<AuditEntry> entries;
    for (const SqlRow& row : session->query(sql, params)) {
        entries.push_back(entry_from(row));
    }
    return entries;
}

AuditCheck SqlLedger::verify_audit() {
    auto session = pool_.acquire();
    SqlTransaction tx(*session, SqlTransaction::Mode::read);
    std::vector<AuditEntry> entries;
    for (const SqlRow& row : session->query(std::string(kAuditColumns) + "ORDER BY seq", {})) {
        entries.push_back(entry_from(row));
    }
    auto head = session->query("SELECT seq, hash FROM audit_head WHERE id = 1", {});
    tx.commit();
    if (head.empty()) {
        return check_audit_chain(entries, std::nullopt, "");
    }
    return check_audit_chain(entries, head.front().integer(0), head.front().text(1));
}

}  // namespace datafix::ledger
