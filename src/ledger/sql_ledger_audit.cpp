// The audit trail in the SQL ledger. Appends happen inside the transaction that made the
// change; the one-row audit_head (locked FOR UPDATE on PostgreSQL, under the write lock on
// SQLite) orders appends from every server, so the chain has a single line. With the audit key
// every append is MAC'd; the key never reaches the ledger.
#include <algorithm>

#include "core/error.hpp"
#include "ledger/audit_chain.hpp"
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

std::optional<AuditEntry> keyed_entry_in(SqlSession& session) {
    auto rows = session.query(
        std::string(kAuditColumns) + "WHERE action = ? AND actor = 0 ORDER BY seq LIMIT 1",
        {SqlValue::of(kAuditKeyedAction)});
    if (rows.empty()) {
        return std::nullopt;
    }
    return entry_from(rows.front());
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
    if (audit_key_.has_value()) {
        entry.hash = audit_entry_mac(entry, *audit_key_);
    } else {
        if (auto keyed = keyed_entry_in(session)) {
            throw Error(ErrorCode::config,
                        "the audit chain is keyed from entry " + std::to_string(keyed->seq) +
                            " and this ledger was opened without the audit key",
                        "give the server its audit key file (server.audit_key_file)");
        }
        entry.hash = audit_entry_hash(entry);
    }
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

void SqlLedger::publish(const AuditEntry& entry) {
    if (publisher_) {
        publisher_(entry);
    }
}

void SqlLedger::set_audit_publisher(AuditPublisher publisher) {
    publisher_ = std::move(publisher);
}

void SqlLedger::key_audit_chain(bool new_key) {
    auto session = pool_.acquire();
    SqlTransaction tx(*session, SqlTransaction::Mode::write);
    if (session->dialect() == Dialect::postgresql) {
        session->query("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE", {});
    }
    if (auto keyed = keyed_entry_in(*session)) {
        if (new_key) {
            throw Error(ErrorCode::config,
                        "the ledger's audit chain is keyed from entry " +
                            std::to_string(keyed->seq) + " with an audit key this server lacks",
                        "restore the audit key file that belongs to this ledger from your "
                        "backup; a new key cannot verify or extend its chain");
        }
        if (audit_entry_mac(*keyed, *audit_key_) != keyed->hash) {
            throw Error(ErrorCode::config,
                        "the audit chain's keyed entry " + std::to_string(keyed->seq) +
                            " does not match the audit key file: the key belongs to another "
                            "ledger, or the chain up to that entry was rewritten",
                        "use the audit key file created with this ledger; if it is that one, "
                        "restore the ledger from a backup and compare");
        }
        return;
    }
    const std::int64_t entries = session->query("SELECT COUNT(*) FROM audit", {}).at(0).integer(0);
    if (entries > 0 && !new_key) {
        throw Error(ErrorCode::config,
                    "the ledger's audit chain has " + std::to_string(entries) +
                        " entries and none is keyed, but an audit key file exists",
                    "the chain was rewritten without the key, or the key belongs to another "
                    "ledger: compare the ledger with a backup before going on");
    }
    AuditEvent event;
    event.at = wall_clock_now();
    event.actor = 0;
    event.action = kAuditKeyedAction;
    event.detail = "unkeyed_entries=" + std::to_string(entries);
    AuditEntry entry = append_audit_in(*session, event);
    tx.commit();
    publish(entry);
}

AuditEntry SqlLedger::append_audit(const AuditEvent& event) {
    auto session = pool_.acquire();
    SqlTransaction tx(*session, SqlTransaction::Mode::write);
    AuditEntry entry = append_audit_in(*session, event);
    tx.commit();
    publish(entry);
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
    sql += query.newest ? "ORDER BY seq DESC LIMIT ?" : "ORDER BY seq LIMIT ?";
    params.push_back(SqlValue::of(std::int64_t{query.limit}));
    std::vector<AuditEntry> entries;
    for (const SqlRow& row : session->query(sql, params)) {
        entries.push_back(entry_from(row));
    }
    if (query.newest) {
        std::reverse(entries.begin(), entries.end());
    }
    return entries;
}

std::optional<AuditEntry> SqlLedger::audit_head() {
    auto session = pool_.acquire();
    auto rows = session->query(std::string(kAuditColumns) + "ORDER BY seq DESC LIMIT 1", {});
    if (rows.empty()) {
        return std::nullopt;
    }
    return entry_from(rows.front());
}

AuditCheck SqlLedger::verify_audit(const std::optional<AuditAnchor>& anchor) {
    auto session = pool_.acquire();
    SqlTransaction tx(*session, SqlTransaction::Mode::read);
    std::vector<AuditEntry> entries;
    for (const SqlRow& row : session->query(std::string(kAuditColumns) + "ORDER BY seq", {})) {
        entries.push_back(entry_from(row));
    }
    auto head = session->query("SELECT seq, hash FROM audit_head WHERE id = 1", {});
    tx.commit();
    const Key* key = audit_key_.has_value() ? &*audit_key_ : nullptr;
    if (head.empty()) {
        return check_audit_chain(entries, std::nullopt, "", key, anchor);
    }
    return check_audit_chain(entries, head.front().integer(0), head.front().text(1), key, anchor);
}

}  // namespace datafix::ledger
