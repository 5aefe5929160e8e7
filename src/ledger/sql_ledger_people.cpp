// People in the SQL ledger: tokens are stored only as their SHA-256; deactivating a person
// revokes the token.
#include <utility>

#include "core/error.hpp"
#include "ledger/migrations.hpp"
#include "ledger/sql_ledger.hpp"
#include "ledger/token.hpp"

namespace datafix::ledger {

namespace {
constexpr std::string_view kUserColumns = "SELECT id, name, email, role, active FROM users ";

Person person_from(const SqlRow& row) {
    Person p;
    p.id = row.integer(0);
    p.name = row.text(1);
    p.email = row.text(2);
    p.role = parse_role(row.text(3)).value_or(Role::developer);
    p.active = row.integer(4) != 0;
    return p;
}

AuditEvent with(const AuditEvent& event, std::string action, std::string detail) {
    AuditEvent e = event;
    e.action = std::move(action);
    e.detail = std::move(detail);
    return e;
}
}  // namespace

SqlLedger::SqlLedger(SessionPool::Factory factory, const Key& key)
    : key_(key), pool_(std::move(factory)) {}

int SqlLedger::schema_version() {
    auto session = pool_.acquire();
    return current_schema_version(*session);
}

IssuedToken SqlLedger::create_user(const NewPerson& person, const AuditEvent& event) {
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
    auto rows = session->query(
        "INSERT INTO users (name, email, role, active, token_hash, created_at) "
        "VALUES (?, ?, ?, 1, ?, ?) RETURNING id",
        {SqlValue::of(person.name), SqlValue::of(person.email),
         SqlValue::of(std::string(role_name(person.role))), SqlValue::of(token_hash(token)),
         SqlValue::of(to_millis(event.at))});
    Person created{rows.at(0).integer(0), person.name, person.email, person.role, true};
    append_audit_in(*session, with(event, "user.created",
                                   "user=" + std::to_string(created.id) +
                                       " role=" + std::string(role_name(created.role))));
    tx.commit();
    return IssuedToken{created, token};
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
    append_audit_in(*session, with(event, active ? "user.activated" : "user.deactivated",
                                   "user=" + std::to_string(id)));
    tx.commit();
    return true;
}

std::optional<IssuedToken> SqlLedger::rotate_token(UserId id, const AuditEvent& event) {
    auto session = pool_.acquire();
    SqlTransaction tx(*session, SqlTransaction::Mode::write);
    std::string token = generate_token();
    if (session->exec("UPDATE users SET token_hash = ? WHERE id = ?",
                      {SqlValue::of(token_hash(token)), SqlValue::of(id)}) == 0) {
        return std::nullopt;
    }
    append_audit_in(*session, with(event, "user.token_rotated", "user=" + std::to_string(id)));
    auto rows = session->query(std::string(kUserColumns) + "WHERE id = ?", {SqlValue::of(id)});
    tx.commit();
    return IssuedToken{person_from(rows.at(0)), token};
}

}  // namespace datafix::ledger
