// Requests in the SQL ledger: loading a whole request (sealed text opened), and saving what a
// transaction changed. transact() holds the store's lock from load to commit, so a decision is
// taken on the state as stored and nobody can act in between.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <utility>

#include "core/error.hpp"
#include "ledger/sql_ledger.hpp"

namespace datafix::ledger {

namespace {

// request_people.side for each list of Participants, in this order.
constexpr std::array<std::string_view, 3> kSideNames{"driver", "pair", "product_owner"};

std::array<std::vector<UserId>*, 3> sides_of(Participants& p) {
    return {&p.drove, &p.paired, &p.product_owners};
}
std::array<const std::vector<UserId>*, 3> sides_of(const Participants& p) {
    return {&p.drove, &p.paired, &p.product_owners};
}

using nlohmann::json;

SqlValue time_value(Time t) {
    return SqlValue::of(to_millis(t));
}
SqlValue optional_time(const std::optional<Time>& t) {
    return t ? time_value(*t) : SqlValue::null();
}
SqlValue flag(bool b) {
    return SqlValue::of(std::int64_t{b ? 1 : 0});
}
SqlValue number_value(std::int64_t n) {
    return SqlValue::of(n);
}

std::string statements_json(const std::vector<StatementInfo>& statements) {
    json list = json::array();
    for (const StatementInfo& s : statements) {
        list.push_back({{"normalized", s.normalized},
                        {"fingerprint", s.fingerprint},
                        {"hash", s.hash},
                        {"expected_rows", s.expected_rows}});
    }
    return list.dump();
}

std::vector<StatementInfo> statements_from(const std::string& text) {
    std::vector<StatementInfo> statements;
    for (const json& item : json::parse(text)) {
        statements.push_back(StatementInfo{
            item.at("normalized").get<std::string>(), item.at("fingerprint").get<std::string>(),
            item.at("hash").get<std::string>(), item.at("expected_rows").get<std::int64_t>()});
    }
    return statements;
}

std::string counts_json(const std::vector<std::int64_t>& counts) {
    return json(counts).dump();
}
std::vector<std::int64_t> counts_from(const std::string& text) {
    return json::parse(text).get<std::vector<std::int64_t>>();
}

template <class T>
const T* find_numbered(const std::vector<T>& items, int number) {
    for (const T& item : items) {
        if (item.number == number) {
            return &item;
        }
    }
    return nullptr;
}

}  // namespace

std::string SqlLedger::seal_text(const std::string& text) const {
    return seal(key_, text);
}
std::string SqlLedger::open_text(const std::string& sealed) const {
    return open_sealed(key_, sealed);
}

RequestState SqlLedger::create_request(const ChangeRequest& request, const AuditEvent& event,
                                       const NewRequestMessages& messages) {
    auto session = pool_.acquire();
    SqlTransaction tx(*session, SqlTransaction::Mode::write);
    auto rows = session->query(
        "INSERT INTO requests (title, reason_sealed, requested_by, requested_date, ticket, "
        "created_by, created_at, status, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1) "
        "RETURNING number",
        {SqlValue::of(request.title), SqlValue::blob(seal_text(request.reason)),
         SqlValue::of(request.requested_by), SqlValue::of(request.requested_date),
         SqlValue::of(request.ticket), SqlValue::of(request.created_by),
         time_value(request.created_at), SqlValue::of(std::string(status_name(request.status)))});
    RequestState state;
    state.request = request;
    state.request.number = rows.at(0).integer(0);
    state.version = 1;
    AuditEvent e = event;
    e.request = state.request.number;
    AuditEntry entry = append_audit_in(*session, e);
    if (messages) {
        // After the audit entry: the messages' footer carries the head that includes it.
        for (const auto& row : messages(state)) {
            insert_notification_in(*session, row, event.at);
        }
    }
    tx.commit();
    publish(entry);
    return state;
}

std::optional<RequestState> SqlLedger::load(RequestNumber number) {
    auto session = pool_.acquire();
    SqlTransaction tx(*session, SqlTransaction::Mode::read);
    auto state = load_in(*session, number, false);
    tx.commit();
    return state;
}

std::optional<RequestState> SqlLedger::load_in(SqlSession& session, RequestNumber number,
                                               bool lock) {
    const bool row_lock = lock && session.dialect() == Dialect::postgresql;
    auto rows = session.query(
        std::string("SELECT number, title, reason_sealed, requested_by, requested_date, ticket, "
                    "created_by, created_at, status, version FROM requests WHERE number = ?") +
            (row_lock ? " FOR UPDATE" : ""),
        {number_value(number)});
    if (rows.empty()) {
        return std::nullopt;
    }
    RequestState state;
    const SqlRow& r = rows.front();
    state.request.number = r.integer(0);
    state.request.title = r.text(1);
    state.request.reason = open_text(r.text(2));
    state.request.requested_by = r.integer(3);
    state.request.requested_date = r.text(4);
    state.request.ticket = r.text(5);
    state.request.created_by = r.integer(6);
    state.request.created_at = from_millis(r.integer(7));
    state.request.status = parse_status(r.text(8)).value_or(RequestStatus::open);
    state.version = r.integer(9);

    const std::vector<SqlValue> key{number_value(number)};
    for (const SqlRow& c : session.query(
             "SELECT driver, claimed_at, lease_expires_at FROM claims WHERE request = ?", key)) {
        state.claim = Claim{c.integer(0), from_millis(c.integer(1)), from_millis(c.integer(2))};
    }
    for (const SqlRow& p :
         session.query("SELECT pair, joined_at FROM pairs WHERE request = ?", key)) {
        state.pair = Pair{p.integer(0), from_millis(p.integer(1))};
    }
    for (const SqlRow& v : session.query(
             "SELECT number, hash, change_hash, change_sealed, verify_sealed, statements, "
             "all_rows, attached_by, attached_at FROM revisions WHERE request = ? ORDER BY number",
             key)) {
        Revision revision;
        revision.number = static_cast<int>(v.integer(0));
        revision.hash = v.text(1);
        revision.change_hash = v.text(2);
        revision.change_sql = open_text(v.text(3));
        revision.verify_sql = open_text(v.text(4));
        revision.statements = statements_from(v.text(5));
        revision.all_rows = v.integer(6) != 0;
        revision.attached_by = v.integer(7);
        revision.attached_at = from_millis(v.integer(8));
        state.revisions.push_back(std::move(revision));
    }
    for (const SqlRow& u : session.query(
             "SELECT number, revision, revision_hash, environment, kind, state, started_by, "
             "started_at, finished_at, counts, fingerprint, xid, backend_pid, "
             "before_images_path, after_images_path, verify_sealed, failure_sealed, applies_run "
             "FROM runs WHERE request = ? ORDER BY number",
             key)) {
        Run run;
        run.number = static_cast<int>(u.integer(0));
        run.revision = static_cast<int>(u.integer(1));
        run.revision_hash = u.text(2);
        run.environment = u.text(3);
        run.kind = parse_run_kind(u.text(4)).value_or(RunKind::preview);
        run.state = parse_run_state(u.text(5)).value_or(RunState::failed);
        run.started_by = u.integer(6);
        run.started_at = from_millis(u.integer(7));
        if (auto finished = u.optional_integer(8)) {
            run.finished_at = from_millis(*finished);
        }
        run.counts = counts_from(u.text(9));
        run.fingerprint = u.text(10);
        run.xid = u.optional_integer(11);
        run.backend_pid = u.optional_integer(12);
        run.before_images_path = u.text(13);
        run.after_images_path = u.text(14);
        run.verify_results = open_text(u.text(15));
        run.failure = open_text(u.text(16));
        run.applies_run = static_cast<int>(u.integer(17));
        state.runs.push_back(std::move(run));
    }
    for (const SqlRow& a : session.query(
             "SELECT number, kind, environment, revision, revision_hash, fingerprint, "
             "approved_by, approved_at, voided FROM approvals WHERE request = ? ORDER BY number",
             key)) {
        Approval approval;
        approval.number = static_cast<int>(a.integer(0));
        approval.kind = parse_approval_kind(a.text(1)).value_or(ApprovalKind::evidence);
        approval.environment = a.text(2);
        approval.revision = static_cast<int>(a.integer(3));
        approval.revision_hash = a.text(4);
        approval.fingerprint = a.text(5);
        approval.approved_by = a.integer(6);
        approval.approved_at = from_millis(a.integer(7));
        approval.voided = a.integer(8) != 0;
        state.approvals.push_back(std::move(approval));
    }
    for (const SqlRow& b : session.query(
             "SELECT number, environment, revision, verified, taken_at, size_bytes, sha256, "
             "location, recorded_by FROM backups WHERE request = ? ORDER BY number",
             key)) {
        Backup backup;
        backup.number = static_cast<int>(b.integer(0));
        backup.environment = b.text(1);
        backup.revision = static_cast<int>(b.integer(2));
        backup.verified = b.integer(3) != 0;
        backup.taken_at = from_millis(b.integer(4));
        backup.size_bytes = b.integer(5);
        backup.sha256 = b.text(6);
        backup.location = b.text(7);
        backup.recorded_by = b.integer(8);
        state.backups.push_back(std::move(backup));
    }
    for (const SqlRow& c :
         session.query("SELECT number, kind, text_sealed, author, written_at, revision, after_run "
                       "FROM comments WHERE request = ? ORDER BY number",
                       key)) {
        Comment comment;
        comment.number = static_cast<int>(c.integer(0));
        comment.kind = parse_comment_kind(c.text(1)).value_or(CommentKind::comment);
        comment.text = open_text(c.text(2));
        comment.author = c.integer(3);
        comment.at = from_millis(c.integer(4));
        comment.revision = static_cast<int>(c.integer(5));
        comment.after_run = static_cast<int>(c.integer(6));
        state.comments.push_back(std::move(comment));
    }
    for (const SqlRow& p : session.query(
             "SELECT person, side FROM request_people WHERE request = ? ORDER BY side, person",
             key)) {
        auto sides = sides_of(state.participants);
        for (std::size_t i = 0; i < sides.size(); ++i) {
            if (p.text(1) == kSideNames[i]) {
                sides[i]->push_back(p.integer(0));
            }
        }
    }
    return state;
}

void SqlLedger::save_in(SqlSession& session, const RequestState& before,
                        const RequestState& after) {
    const RequestNumber number = before.request.number;
    const SqlValue key = number_value(number);
    if (after.request.number != number) {
        throw Error(ErrorCode::internal, "ledger: a transaction may not renumber a request");
    }
    if (!(after.request == before.request)) {
        session.exec(
            "UPDATE requests SET title = ?, reason_sealed = ?, requested_date = ?, ticket = ?, "
            "status = ? WHERE number = ?",
            {SqlValue::of(after.request.title), SqlValue::blob(seal_text(after.request.reason)),
             SqlValue::of(after.request.requested_date), SqlValue::of(after.request.ticket),
             SqlValue::of(std::string(status_name(after.request.status))), key});
    }
    session.exec("UPDATE requests SET version = version + 1 WHERE number = ?", {key});

    if (!(after.claim == before.claim)) {
        session.exec("DELETE FROM claims WHERE request = ?", {key});
        if (after.claim) {
            session.exec(
                "INSERT INTO claims (request, driver, claimed_at, lease_expires_at) "
                "VALUES (?, ?, ?, ?)",
                {key, SqlValue::of(after.claim->driver), time_value(after.claim->claimed_at),
                 time_value(after.claim->lease_expires_at)});
        }
    }
    if (!(after.pair == before.pair)) {
        session.exec("DELETE FROM pairs WHERE request = ?", {key});
        if (after.pair) {
            session.exec("INSERT INTO pairs (request, pair, joined_at) VALUES (?, ?, ?)",
                         {key, SqlValue::of(after.pair->pair), time_value(after.pair->joined_at)});
        }
    }
    for (const Revision& revision : after.revisions) {
        const Revision* old = find_numbered(before.revisions, revision.number);
        if (old != nullptr) {
            if (!(*old == revision)) {
                throw Error(ErrorCode::internal, "ledger: revisions are immutable");
            }
            continue;
        }
        session.exec(
            "INSERT INTO revisions (request, number, hash, change_hash, change_sealed, "
            "verify_sealed, statements, all_rows, attached_by, attached_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            {key, number_value(revision.number), SqlValue::of(revision.hash),
             SqlValue::of(revision.change_hash), SqlValue::blob(seal_text(revision.change_sql)),
             SqlValue::blob(seal_text(revision.verify_sql)),
             SqlValue::of(statements_json(revision.statements)), flag(revision.all_rows),
             SqlValue::of(revision.attached_by), time_value(revision.attached_at)});
    }
    for (const Run& run : after.runs) {
        const Run* old = find_numbered(before.runs, run.number);
        if (old != nullptr && *old == run) {
            continue;
        }
        session.exec("DELETE FROM runs WHERE request = ? AND number = ?",
                     {key, number_value(run.number)});
        session.exec(
            "INSERT INTO runs (request, number, revision, revision_hash, environment, kind, "
            "state, started_by, started_at, finished_at, counts, fingerprint, xid, backend_pid, "
            "before_images_path, after_images_path, verify_sealed, failure_sealed, applies_run) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            {key, number_value(run.number), number_value(run.revision),
             SqlValue::of(run.revision_hash), SqlValue::of(run.environment),
             SqlValue::of(std::string(run_kind_name(run.kind))),
             SqlValue::of(std::string(run_state_name(run.state))), SqlValue::of(run.started_by),
             time_value(run.started_at), optional_time(run.finished_at),
             SqlValue::of(counts_json(run.counts)), SqlValue::of(run.fingerprint),
             SqlValue::of(run.xid), SqlValue::of(run.backend_pid),
             SqlValue::of(run.before_images_path), SqlValue::of(run.after_images_path),
             SqlValue::blob(seal_text(run.verify_results)), SqlValue::blob(seal_text(run.failure)),
             number_value(run.applies_run)});
    }
    for (const Approval& approval : after.approvals) {
        const Approval* old = find_numbered(before.approvals, approval.number);
        if (old != nullptr && *old == approval) {
            continue;
        }
        session.exec("DELETE FROM approvals WHERE request = ? AND number = ?",
                     {key, number_value(approval.number)});
        session.exec(
            "INSERT INTO approvals (request, number, kind, environment, revision, revision_hash, "
            "fingerprint, approved_by, approved_at, voided) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            {key, number_value(approval.number),
             SqlValue::of(std::string(approval_kind_name(approval.kind))),
             SqlValue::of(approval.environment), number_value(approval.revision),
             SqlValue::of(approval.revision_hash), SqlValue::of(approval.fingerprint),
             SqlValue::of(approval.approved_by), time_value(approval.approved_at),
             flag(approval.voided)});
    }
    // A conversation is only ever added to.
    for (const Comment& comment : after.comments) {
        const Comment* old = find_numbered(before.comments, comment.number);
        if (old != nullptr) {
            if (!(*old == comment)) {
                throw Error(ErrorCode::internal, "ledger: comments are immutable");
            }
            continue;
        }
        session.exec(
            "INSERT INTO comments (request, number, kind, text_sealed, author, written_at, "
            "revision, after_run) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            {key, number_value(comment.number),
             SqlValue::of(std::string(comment_kind_name(comment.kind))),
             SqlValue::blob(seal_text(comment.text)), SqlValue::of(comment.author),
             time_value(comment.at), number_value(comment.revision),
             number_value(comment.after_run)});
    }
    // Participants are only ever added.
    auto before_sides = sides_of(before.participants);
    auto after_sides = sides_of(after.participants);
    for (std::size_t i = 0; i < after_sides.size(); ++i) {
        const std::vector<UserId>& was = *before_sides[i];
        for (UserId person : *after_sides[i]) {
            if (std::find(was.begin(), was.end(), person) != was.end()) {
                continue;
            }
            session.exec("INSERT INTO request_people (request, person, side) VALUES (?, ?, ?)",
                         {key, SqlValue::of(person), SqlValue::of(std::string(kSideNames[i]))});
        }
    }
    for (const Backup& backup : after.backups) {
        const Backup* old = find_numbered(before.backups, backup.number);
        if (old != nullptr && *old == backup) {
            continue;
        }
        session.exec("DELETE FROM backups WHERE request = ? AND number = ?",
                     {key, number_value(backup.number)});
        session.exec(
            "INSERT INTO backups (request, number, environment, revision, verified, taken_at, "
            "size_bytes, sha256, location, recorded_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            {key, number_value(backup.number), SqlValue::of(backup.environment),
             number_value(backup.revision), flag(backup.verified), time_value(backup.taken_at),
             SqlValue::of(backup.size_bytes), SqlValue::of(backup.sha256),
             SqlValue::of(backup.location), SqlValue::of(backup.recorded_by)});
    }
}

TransactResult SqlLedger::transact(RequestNumber number, const MutationFn& fn) {
    auto session = pool_.acquire();
    SqlTransaction tx(*session, SqlTransaction::Mode::write);
    std::optional<RequestState> before = load_in(*session, number, true);
    TransactResult result;
    if (!before) {
        return result;
    }
    result.found = true;
    RequestState state = *before;
    Mutation mutation = fn(state);
    if (!mutation.commit) {
        result.state = std::move(*before);
        return result;
    }
    save_in(*session, *before, state);
    std::optional<AuditEntry> last;
    for (AuditEvent event : mutation.events) {
        event.request = number;
        last = append_audit_in(*session, event);
    }
    for (const auto& row : mutation.notifications) {
        insert_notification_in(*session, row, mutation.now);
    }
    tx.commit();
    if (last) {
        publish(*last);
    }
    state.version = before->version + 1;
    result.committed = true;
    result.state = std::move(state);
    return result;
}

std::vector<RequestSummary> SqlLedger::list_requests(const RequestFilter& filter) {
    auto session = pool_.acquire();
    SqlTransaction tx(*session, SqlTransaction::Mode::read);
    std::string sql =
        "SELECT r.number, r.title, r.requested_by, r.requested_date, r.ticket, r.created_by, "
        "r.created_at, r.status, r.version, c.driver, c.claimed_at, c.lease_expires_at, "
        "p.pair, p.joined_at, v.number, v.hash FROM requests r "
        "LEFT JOIN claims c ON c.request = r.number "
        "LEFT JOIN pairs p ON p.request = r.number "
        "LEFT JOIN revisions v ON v.request = r.number AND v.number = "
        "(SELECT MAX(number) FROM revisions WHERE request = r.number) ";
    std::vector<SqlValue> params;
    if (filter.status) {
        sql += "WHERE r.status = ? ";
        params.push_back(SqlValue::of(std::string(status_name(*filter.status))));
    }
    sql += "ORDER BY r.number DESC LIMIT ?";
    params.push_back(SqlValue::of(std::int64_t{filter.limit}));
    std::vector<RequestSummary> out;
    for (const SqlRow& r : session->query(sql, params)) {
        RequestSummary s;
        s.request.number = r.integer(0);
        s.request.title = r.text(1);
        s.request.requested_by = r.integer(2);
        s.request.requested_date = r.text(3);
        s.request.ticket = r.text(4);
        s.request.created_by = r.integer(5);
        s.request.created_at = from_millis(r.integer(6));
        s.request.status = parse_status(r.text(7)).value_or(RequestStatus::open);
        s.version = r.integer(8);
        if (!r.is_null(9)) {
            s.claim = Claim{r.integer(9), from_millis(r.integer(10)), from_millis(r.integer(11))};
        }
        if (!r.is_null(12)) {
            s.pair = Pair{r.integer(12), from_millis(r.integer(13))};
        }
        s.revision = static_cast<int>(r.integer(14));
        s.revision_hash = r.text(15);
        out.push_back(std::move(s));
    }
    tx.commit();
    return out;
}

}  // namespace datafix::ledger
