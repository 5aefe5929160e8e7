// Sign-in sessions in the SQL ledger: pending sign-ins taken once (DELETE ... RETURNING, so of
// two callbacks with one state only one wins), sessions stored as their token's SHA-256, and
// the sign-in and sign-out audited in the transaction that opens or ends the session.
#include <sodium.h>

#include <array>
#include <stdexcept>

#include "core/hash.hpp"
#include "ledger/sql_ledger.hpp"
#include "ledger/token.hpp"

namespace datafix::ledger {

std::string_view session_kind_name(SessionKind kind) {
    return kind == SessionKind::cli ? "cli" : "browser";
}

std::string generate_session_token() {
    if (sodium_init() < 0) {
        throw std::runtime_error("libsodium failed to initialise");
    }
    std::array<unsigned char, 32> bytes{};
    randombytes_buf(bytes.data(), bytes.size());
    return "dfs_" +
           to_hex(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

void SqlLedger::begin_sign_in(const PendingSignIn& pending) {
    auto session = pool_.acquire();
    SqlTransaction tx(*session, SqlTransaction::Mode::write);
    // Abandoned sign-ins (nobody came back from the provider) go when the next one starts.
    session->exec("DELETE FROM pending_sign_ins WHERE expires_at <= ?",
                  {SqlValue::of(to_millis(wall_clock_now()))});
    session->exec(
        "INSERT INTO pending_sign_ins (state_hash, nonce, code_verifier_sealed, return_to, "
        "expires_at) "
        "VALUES (?, ?, ?, ?, ?)",
        {SqlValue::of(token_hash(pending.state)), SqlValue::of(pending.nonce),
         SqlValue::blob(seal_text(pending.code_verifier)), SqlValue::of(pending.return_to),
         SqlValue::of(to_millis(pending.expires_at))});
    tx.commit();
}

std::optional<PendingSignIn> SqlLedger::take_sign_in(std::string_view state, Time now) {
    if (state.empty()) {
        return std::nullopt;
    }
    auto session = pool_.acquire();
    SqlTransaction tx(*session, SqlTransaction::Mode::write);
    auto rows = session->query(
        "DELETE FROM pending_sign_ins WHERE state_hash = ? "
        "RETURNING nonce, code_verifier_sealed, return_to, expires_at",
        {SqlValue::of(token_hash(state))});
    tx.commit();
    if (rows.empty() || from_millis(rows.front().integer(3)) <= now) {
        return std::nullopt;
    }
    const SqlRow& row = rows.front();
    return PendingSignIn{std::string(state), row.text(0), open_text(row.text(1)), row.text(2),
                         from_millis(row.integer(3))};
}

std::string SqlLedger::open_session(const NewSession& opened, const AuditEvent& event) {
    std::string token = generate_session_token();
    auto session = pool_.acquire();
    SqlTransaction tx(*session, SqlTransaction::Mode::write);
    session->exec(
        "INSERT INTO sessions (token_hash, user_id, kind, provider, identity, role, created_at, "
        "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        {SqlValue::of(token_hash(token)), SqlValue::of(std::int64_t{opened.person}),
         SqlValue::of(std::string(session_kind_name(opened.kind))), SqlValue::of(opened.provider),
         SqlValue::of(opened.identity),
         opened.role ? SqlValue::of(std::string(role_name(*opened.role))) : SqlValue::null(),
         SqlValue::of(to_millis(event.at)), SqlValue::of(to_millis(opened.expires_at))});
    AuditEvent signed_in = event;
    signed_in.action = "session.signed_in";
    signed_in.detail = "user=" + std::to_string(opened.person) +
                       " kind=" + std::string(session_kind_name(opened.kind)) +
                       " provider=" + opened.provider + " identity=" + opened.identity +
                       (opened.role ? " role=" + std::string(role_name(*opened.role)) : "") +
                       " expires=" + std::to_string(to_millis(opened.expires_at));
    AuditEntry entry = append_audit_in(*session, signed_in);
    tx.commit();
    publish(entry);
    return token;
}

std::optional<SessionPerson> SqlLedger::authenticate_session(std::string_view token) {
    if (token.empty()) {
        return std::nullopt;
    }
    std::vector<SqlRow> rows;
    {
        auto session = pool_.acquire();
        rows = session->query(
            "SELECT s.user_id, s.kind, s.provider, s.expires_at, s.role FROM sessions s JOIN "
            "users u ON u.id = s.user_id WHERE s.token_hash = ? AND s.ended_at IS NULL AND "
            "u.active = 1",
            {SqlValue::of(token_hash(token))});
    }
    if (rows.empty()) {
        return std::nullopt;
    }
    auto person = find_user(rows.front().integer(0));
    if (!person) {
        return std::nullopt;
    }
    SessionPerson found;
    found.kind = rows.front().text(1) == "cli" ? SessionKind::cli : SessionKind::browser;
    found.provider = rows.front().text(2);
    found.expires_at = from_millis(rows.front().integer(3));
    found.person = *person;
    // The session is the person's own sign-in: full scope, its own expiry, issued by no admin.
    found.person.token_scope = TokenScope::full;
    found.person.token_expires_at = found.expires_at;
    found.person.token_issued_by = 0;
    found.person.signed_in_with_provider = true;
    if (auto role = parse_role(rows.front().text(4))) {
        found.person.role = *role;
    }
    return found;
}

bool SqlLedger::close_session(std::string_view token, const AuditEvent& event) {
    if (token.empty()) {
        return false;
    }
    auto session = pool_.acquire();
    SqlTransaction tx(*session, SqlTransaction::Mode::write);
    auto rows = session->query(
        "UPDATE sessions SET ended_at = ? WHERE token_hash = ? AND ended_at IS NULL "
        "RETURNING user_id, kind, provider, identity",
        {SqlValue::of(to_millis(event.at)), SqlValue::of(token_hash(token))});
    if (rows.empty()) {
        return false;
    }
    AuditEvent signed_out = event;
    signed_out.action = "session.signed_out";
    signed_out.actor = rows.front().integer(0);
    signed_out.detail = "user=" + rows.front().text(0) + " kind=" + rows.front().text(1) +
                        " provider=" + rows.front().text(2) + " identity=" + rows.front().text(3);
    AuditEntry entry = append_audit_in(*session, signed_out);
    tx.commit();
    publish(entry);
    return true;
}

}  // namespace datafix::ledger
