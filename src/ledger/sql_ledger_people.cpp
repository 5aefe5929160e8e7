// People in the SQL ledger: tokens are stored only as their SHA-256, with their expiry, scope
// and issuer; deactivating a person revokes the token.
#include <utility>

#include "core/error.hpp"
#include "ledger/migrations.hpp"
#include "ledger/sql_ledger.hpp"
#include "ledger/token.hpp"

namespace datafix::ledger {

namespace {
constexpr std::string_view kUserColumns =
    "SELECT id, name, email, role, active, token_scope, token_expires_at, token_issued_by, "
    "created_by, confirmed_by FROM users ";

Person person_from(const SqlRow& row) {
    Person p;
    p.id = row.integer(0);
    p.name = row.text(1);
    p.email = row.text(2);
    p.role = parse_role(row.text(3)).value_or(Role::developer);
    p.active = row.integer(4) != 0;
    // An unknown scope reads as the narrowest.
    p.token_scope = parse_token_scope(row.text(5)).value_or(TokenScope::read);
    if (auto expires = row.optional_integer(6)) {
        p.token_expires_at = from_millis(*expires);
    }
    p.token_issued_by = row.optional_integer(7).value_or(0);
    p.created_by = row.optional_integer(8).value_or(0);
    p.confirmed_by = row.optional_integer(9).value_or(0);
    return p;
}

std::string token_detail(const TokenOptions& token, Time expires) {
    return " scope=" + std::string(token_scope_name(token.scope)) +
           " expires=" + std::to_string(to_millis(expires));
}

AuditEvent with(const AuditEvent& event, std::string action, std::string detail) {
    AuditEvent e = event;
    e.action = std::move(action);
    e.detail = std::move(detail);
    return e;
}
}  // namespace

SqlLedger::SqlLedger(SessionPool::Factory factory, const Key& key, const AuditKeying* audit)
    : key_(key), pool_(std::move(factory)) {
    if (audit != nullptr) {
        audit_key_ = audit->key;
    }
}

int SqlLedger::schema_version() {
    auto session = pool_.acquire();
    return current_schema_version(*session);
}

IssuedToken SqlLedger::create_user(const NewPerson& person, const AuditEvent& event,
                                   const TokenOptions& token_options,
                                   const NewAccountMessages& messages) {
    if (person.email.empty() || person.name.empty()) {
        throw Error(ErrorCode::invalid_input, "a person needs a name and an email");
    }
    auto session = pool_.acquire();
    SqlTransaction tx(*session, SqlTransaction::Mode::write);
    if (!session->query("SELECT id FROM users WHERE email = ?", {SqlValue::of(person.email)})
             .empty()) {
        throw Error(ErrorCode::invalid_input, "a person with email " + person.email + " exists",
                    "use another email, or rotate that person's token");
    }
    std::string token = generate_token();
    const Time expires = event.at + token_options.lifetime;
    // An admin's creation is recorded; `datafix init` and a provider's sign-in (actor 0) are not
    // anybody's.
    const SqlValue creator = event.actor != 0 ? SqlValue::of(event.actor) : SqlValue::null();
    auto rows = session->query(
        "INSERT INTO users (name, email, role, active, token_hash, created_at, token_scope, "
        "token_expires_at, created_by) VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?) RETURNING id",
        {SqlValue::of(person.name), SqlValue::of(person.email),
         SqlValue::of(std::string(role_name(person.role))), SqlValue::of(token_hash(token)),
         SqlValue::of(to_millis(event.at)),
         SqlValue::of(std::string(token_scope_name(token_options.scope))),
         SqlValue::of(to_millis(expires)), creator});
    Person created{rows.at(0).integer(0), person.name, person.email, person.role, true};
    created.token_scope = token_options.scope;
    created.token_expires_at = expires;
    created.created_by = event.actor;
    AuditEntry entry =
        append_audit_in(*session, with(event, "user.created",
                                       "user=" + std::to_string(created.id) +
                                           " role=" + std::string(role_name(created.role)) +
                                           token_detail(token_options, expires)));
    if (messages) {
        for (const NewNotificationRow& notice : messages(created)) {
            insert_notification_in(*session, notice, event.at);
        }
    }
    tx.commit();
    publish(entry);
    return IssuedToken{created, token};
}

std::optional<Person> SqlLedger::confirm_user(UserId id, const AuditEvent& event) {
    auto session = pool_.acquire();
    SqlTransaction tx(*session, SqlTransaction::Mode::write);
    // Compare-and-set: of two admins confirming at once, one does.
    auto updated = session->query(
        "UPDATE users SET confirmed_by = ? WHERE id = ? AND confirmed_by IS NULL AND created_by IS "
        "NOT NULL RETURNING created_by",
        {SqlValue::of(event.actor), SqlValue::of(id)});
    if (updated.empty()) {
        return std::nullopt;
    }
    AuditEntry entry = append_audit_in(
        *session, with(event, "user.confirmed",
                       "user=" + std::to_string(id) +
                           " created_by=" + std::to_string(updated.front().integer(0))));
    auto rows = session->query(std::string(kUserColumns) + "WHERE id = ?", {SqlValue::of(id)});
    tx.commit();
    publish(entry);
    return person_from(rows.at(0));
}

std::optional<Person> SqlLedger::user_where(std::string_view where,
                                            const std::vector<SqlValue>& params) {
    auto session = pool_.acquire();
    auto rows = session->query(std::string(kUserColumns) + std::string(where), params);
    if (rows.empty()) {
        return std::nullopt;
    }
    return person_from(rows.front());
}

std::optional<Person> SqlLedger::authenticate(std::string_view token) {
    if (token.empty()) {
        return std::nullopt;
    }
    return user_where("WHERE token_hash = ? AND active = 1", {SqlValue::of(token_hash(token))});
}

std::optional<Person> SqlLedger::find_user(UserId id) {
    return user_where("WHERE id = ?", {SqlValue::of(std::int64_t{id})});
}

std::optional<Person> SqlLedger::find_user_by_email(std::string_view email) {
    return user_where("WHERE email = ?", {SqlValue::of(std::string(email))});
}

std::vector<Person> SqlLedger::list_users() {
    auto session = pool_.acquire();
    std::vector<Person> people;
    for (const SqlRow& row : session->query(std::string(kUserColumns) + "ORDER BY id", {})) {
        people.push_back(person_from(row));
    }
    return people;
}

std::int64_t SqlLedger::count_users() {
    auto session = pool_.acquire();
    return session->query("SELECT COUNT(*) FROM users", {}).at(0).integer(0);
}

bool SqlLedger::set_user_active(UserId id, bool active, const AuditEvent& event) {
    auto session = pool_.acquire();
    SqlTransaction tx(*session, SqlTransaction::Mode::write);
    std::int64_t changed =
        active ? session->exec("UPDATE users SET active = 1 WHERE id = ?", {SqlValue::of(id)})
               : session->exec("UPDATE users SET active = 0, token_hash = NULL WHERE id = ?",
                               {SqlValue::of(id)});
    if (changed == 0) {
        return false;
    }
    AuditEntry entry = append_audit_in(
        *session,
        with(event, active ? "user.activated" : "user.deactivated", "user=" + std::to_string(id)));
    tx.commit();
    publish(entry);
    return true;
}

std::optional<IssuedToken> SqlLedger::rotate_token(UserId id, const AuditEvent& event,
                                                   const TokenOptions& token_options,
                                                   const std::vector<NewNotificationRow>& notices) {
    auto session = pool_.acquire();
    SqlTransaction tx(*session, SqlTransaction::Mode::write);
    auto current =
        session->query("SELECT token_issued_by FROM users WHERE id = ?", {SqlValue::of(id)});
    if (current.empty()) {
        return std::nullopt;
    }
    // Someone else's rotation marks the token as theirs too; the owner's own rotation keeps
    // whatever mark the token had, so a rotated token cannot be laundered by rotating it again.
    const bool by_other = event.actor != id;
    const std::optional<std::int64_t> issued_by =
        by_other ? std::optional<std::int64_t>(event.actor) : current.front().optional_integer(0);
    std::string token = generate_token();
    const Time expires = event.at + token_options.lifetime;
    session->exec(
        "UPDATE users SET token_hash = ?, token_scope = ?, token_expires_at = ?, "
        "token_issued_by = ? WHERE id = ?",
        {SqlValue::of(token_hash(token)),
         SqlValue::of(std::string(token_scope_name(token_options.scope))),
         SqlValue::of(to_millis(expires)), SqlValue::of(issued_by), SqlValue::of(id)});
    std::string detail = "user=" + std::to_string(id) + token_detail(token_options, expires);
    if (issued_by.has_value() && *issued_by != 0) {
        detail += " issued_by=" + std::to_string(*issued_by);
    }
    AuditEntry entry = append_audit_in(*session, with(event, "user.token_rotated", detail));
    if (by_other) {
        for (const NewNotificationRow& notice : notices) {
            insert_notification_in(*session, notice, event.at);
        }
    }
    auto rows = session->query(std::string(kUserColumns) + "WHERE id = ?", {SqlValue::of(id)});
    tx.commit();
    publish(entry);
    return IssuedToken{person_from(rows.at(0)), token};
}

bool SqlLedger::set_user_role(UserId id, Role role, const AuditEvent& event) {
    auto session = pool_.acquire();
    SqlTransaction tx(*session, SqlTransaction::Mode::write);
    auto rows = session->query("SELECT role FROM users WHERE id = ?", {SqlValue::of(id)});
    if (rows.empty()) {
        return false;
    }
    const std::string before = rows.front().text(0);
    session->exec("UPDATE users SET role = ? WHERE id = ?",
                  {SqlValue::of(std::string(role_name(role))), SqlValue::of(id)});
    AuditEntry entry =
        append_audit_in(*session, with(event, "user.role_changed",
                                       "user=" + std::to_string(id) + " from=" + before +
                                           " role=" + std::string(role_name(role))));
    tx.commit();
    publish(entry);
    return true;
}

}  // namespace datafix::ledger
