// The guarded session: preview (rehearse once, roll back; twice where volatility cannot be learned
// from its causes), apply (execute, compare, COMMIT with
// the xid handed out first), revert (same, from the images) and in-doubt resolution.
#include "targetdb/session.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <ranges>
#include <set>
#include <thread>

#include "core/error.hpp"
#include "core/fault.hpp"
#include "targetdb/closure_capture.hpp"
#include "targetdb/closure_restore.hpp"
#include "targetdb/connection.hpp"
#include "targetdb/evidence_check.hpp"
#include "targetdb/guards.hpp"
#include "targetdb/live.hpp"
#include "targetdb/preflight_explain.hpp"
#include "targetdb/preflight_functions.hpp"
#include "targetdb/restore_step.hpp"
#include "targetdb/statement_capture.hpp"
#include "targetdb/table_info.hpp"
#include "targetdb/volatility.hpp"

namespace datafix::targetdb {

struct Session::State {
    EnvironmentTarget target;
    std::unique_ptr<Connection> connection;
    // A second guarded session on the same database: it imports a run's snapshot to read the
    // row versions the run replaced (closure_capture.hpp). Opened on first use.
    std::unique_ptr<Connection> observer;
    SessionFacts facts;
    std::optional<PreflightReport> preflight;
};

namespace {

// One execution of a run inside the caller's transaction: statements or restore steps.
using RunBody = std::function<std::vector<StatementEvidence>(Connection&, ImageStore&)>;

std::vector<VerifyResult> run_verify(Connection& connection,
                                     const std::vector<VerifyQuery>& verify) {
    std::vector<VerifyResult> results;
    if (verify.empty()) {
        return results;
    }
    // A READ ONLY subtransaction: the verify queries see the change, and a function that writes
    // fails at the server; ROLLBACK TO undoes the read-only setting, not the change.
    connection.query("SAVEPOINT datafix_verify");
    connection.query("SET LOCAL transaction_read_only = on");
    for (const auto& q : verify) {
        auto r = connection.query(q.text);
        VerifyResult out;
        out.index = q.index;
        out.columns = r.columns;
        out.truncated = r.rows.size() > kMaxVerifyRows;
        if (out.truncated) {
            r.rows.resize(kMaxVerifyRows);
        }
        out.rows = std::move(r.rows);
        results.push_back(std::move(out));
    }
    connection.query("ROLLBACK TO SAVEPOINT datafix_verify");
    connection.query("RELEASE SAVEPOINT datafix_verify");
    return results;
}

// The sealed image files of a run that will not be kept: its statements' and its closure's.
void remove_images(const Evidence& evidence) {
    std::error_code ec;
    for (const auto& s : evidence.statements) {
        std::filesystem::remove(s.before.path, ec);
        std::filesystem::remove(s.after.path, ec);
    }
    for (const auto& c : evidence.closure) {
        std::filesystem::remove(c.before.path, ec);
        std::filesystem::remove(c.after.path, ec);
    }
}

}  // namespace

Session::Session() : state_(std::make_unique<State>()) {}
Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

Session Session::open(const EnvironmentTarget& target) {
    Session s;
    s.state_->target = target;
    s.state_->connection = Connection::open(target.conninfo, target.name);
    s.state_->facts = run_guards(*s.state_->connection, target);
    return s;
}

const SessionFacts& Session::facts() const {
    return state_->facts;
}

namespace {

// After a lost connection the next operation starts on a new one, through every guard again.
Connection& connected(Session::State& st) {
    if (!st.connection->alive()) {
        st.connection = Connection::open(st.target.conninfo, st.target.name);
        st.facts = run_guards(*st.connection, st.target);
    }
    return *st.connection;
}

// A table's volatile after-image columns (schema.table), where known before a capture.
using VolatilityOf = std::function<std::vector<VolatileColumn>(const std::string&)>;

Connection& observer_of(Session::State& st) {
    if (!st.observer || !st.observer->alive()) {
        st.observer = Connection::open(st.target.conninfo, st.target.name);
        auto facts = run_guards(*st.observer, st.target);
        if (facts.system_identifier != st.facts.system_identifier) {
            throw Error(ErrorCode::target_refused,
                        st.target.name + ": the second session reached another cluster",
                        "point the environment's conninfo at one cluster");
        }
    }
    return *st.observer;
}

// The statement that alone writes `table` (closure_capture.hpp): the only cause pre-flight found
// for it, with no rule on it and no write it could not read, and a capture whose counts are the
// statement's row count. An INSERT ... ON CONFLICT DO UPDATE, a MERGE and an append-only table
// are scanned.
const StatementEvidence* written_alone(const PreflightReport& report, const ChangePlan& plan,
                                       const Evidence& evidence, const ClosureTable& table) {
    if (table.append_only || !report.unknown_writes.empty()) {
        return nullptr;
    }
    auto t = std::find_if(report.tables.begin(), report.tables.end(), [&](const TableReport& r) {
        return r.found && r.schema == table.schema && r.table == table.table;
    });
    if (t == report.tables.end() || t->statements.size() != 1 || t->reached_by.size() != 1 ||
        !t->rules.empty()) {
        return nullptr;
    }
    int index = t->statements.front();
    auto s = std::find_if(evidence.statements.begin(), evidence.statements.end(),
                          [&](const StatementEvidence& e) { return e.index == index; });
    auto p = std::find_if(plan.statements.begin(), plan.statements.end(),
                          [&](const PlannedStatement& e) { return e.index == index; });
    if (s == evidence.statements.end() || p == plan.statements.end() || s->schema != table.schema ||
        s->table != table.table) {
        return nullptr;
    }
    bool agrees = false;
    switch (s->kind) {
        case StatementKind::update:
            agrees = s->before.rows == s->actual_rows && s->after.rows == s->actual_rows;
            break;
        case StatementKind::delete_:
            agrees = s->before.rows == s->actual_rows && s->after.rows == 0;
            break;
        case StatementKind::insert:
            agrees = !p->capture.on_conflict_update && s->before.rows == 0 &&
                     s->after.rows == s->actual_rows;
            break;
        default:
            break;
    }
    return agrees ? &*s : nullptr;
}

// Every row the open run changed in the pre-flight's write closure, into `evidence`. At apply
// (`committing`), append-only tables are only counted: the pair saw their rows in the preview,
// and once committed they stay where they are.
// `volatility_of` names a table's volatile after-image columns when they are known before the
// capture, so the masked digests are streamed (ImageWriter::mask).
void capture_closure(Session::State& st, const ChangePlan& plan, Connection& run,
                     ImageStore& images, Evidence& evidence, bool committing,
                     const VolatilityOf& volatility_of) {
    auto tables = closure_tables(*st.preflight);
    for (auto& t : tables) {
        t.count_only = committing && t.append_only;
        if (volatility_of) {
            t.volatility = volatility_of(t.schema + "." + t.table);
        }
        t.written_alone = written_alone(*st.preflight, plan, evidence, t);
    }
    evidence.closure_captured = true;
    evidence.closure = capture_changes(run, observer_of(st), images, tables, "c");
    // Pre-flight predicts for every table the change could write; the evidence keeps what is
    // about the tables it did write (and the environment as a whole).
    evidence.revert_hazards.clear();
    const auto& hazards = st.preflight->revert_hazards;
    const auto& about = st.preflight->revert_hazard_tables;
    for (std::size_t i = 0; i < hazards.size(); ++i) {
        bool written =
            about.at(i).empty() ||
            std::any_of(evidence.closure.begin(), evidence.closure.end(),
                        [&](const TableChanges& c) { return c.qualified() == about[i]; });
        if (written) {
            evidence.revert_hazards.push_back(hazards[i]);
        }
    }
}

}  // namespace

namespace {

// Whether an UPDATE or DELETE left no row of its table (as the role sees it) untouched: after a
// DELETE no row is left; after an UPDATE every row was written by this transaction. EXISTS stops
// at the first untouched row, so a change that leaves rows alone pays for a page or two.
bool touched_every_row(Connection& connection, const PlannedStatement& statement) {
    if (statement.kind != StatementKind::update && statement.kind != StatementKind::delete_) {
        return false;
    }
    std::string table = connection.quote_identifier(statement.capture.schema) + "." +
                        connection.quote_identifier(statement.capture.table);
    std::string untouched = statement.kind == StatementKind::delete_
                                ? "SELECT 1 FROM " + table
                                : "SELECT 1 FROM " + table + " WHERE age(xmin) > 0";
    return connection.query("SELECT NOT EXISTS (" + untouched + ")").scalar() == "t";
}

// `observer`: the session's second connection, which reads the first statement's before-images
// beside it (execute_with_capture).
std::vector<StatementEvidence> execute_change(Connection& connection, Connection& observer,
                                              ImageStore& images, const EnvironmentTarget& target,
                                              const ChangePlan& plan, const Evidence* approved,
                                              const PreflightReport& report,
                                              VolatileValues* values = nullptr,
                                              const VolatilityOf& volatility_of = {}) {
    std::vector<StatementEvidence> out;
    for (std::size_t i = 0; i < plan.statements.size(); ++i) {
        const auto& statement = plan.statements[i];
        auto table = load_table_info(connection, statement.capture.schema, statement.capture.table);
        StatementEvidence ev;
        try {
            ev = execute_with_capture(
                connection, images, statement, table,
                approved != nullptr
                    ? approved->statements.at(i).volatility
                    : (volatility_of ? volatility_of(table.schema + "." + table.table)
                                     : std::vector<VolatileColumn>{}),
                i == 0 ? &observer : nullptr);
        } catch (const Error& e) {
            throw explain_failure(report, statement.index, e);
        }
        check_still_role(connection, target, "after statement " + std::to_string(statement.index));
        if (!plan.all_rows && ev.actual_rows > 0 && touched_every_row(connection, statement)) {
            throw Error(ErrorCode::refused,
                        target.name + ": statement " + std::to_string(statement.index) +
                            " touched every row of " + statement.capture.schema + "." +
                            statement.capture.table + " (" + std::to_string(ev.actual_rows) +
                            "); rolled back",
                        "narrow its WHERE; if every row is meant, attach the change with "
                        "--all-rows so the pair sees that it is");
        }
        try {
            require_declared_count(ev, target.name);
        } catch (const Error& e) {
            throw with_explanation(
                e, explain_mismatch(report, statement.index, ev.expected_rows.value_or(0),
                                    ev.actual_rows));
        }
        if (approved != nullptr) {
            require_same_as_approved(images, ev, approved->statements.at(i), target.name, values,
                                     i > 0);
        }
        out.push_back(std::move(ev));
    }
    return out;
}

Evidence make_evidence(RunKind kind, const std::string& plan_sha, const SessionFacts& facts,
                       std::vector<StatementEvidence> statements) {
    Evidence e;
    e.kind = kind;
    e.plan_sha256 = plan_sha;
    e.environment = facts.environment;
    e.system_identifier = facts.system_identifier;
    e.statements = std::move(statements);
    e.superuser_login = facts.login_is_superuser;
    return e;
}

// What the first rehearsal does after its body, inside its transaction (closure capture).
using AfterBody = std::function<void(Connection&, ImageStore&, Evidence&)>;

void add_observed(std::vector<VolatileColumn>& volatility, const std::vector<std::string>& names) {
    for (const auto& name : names) {
        bool known = std::any_of(volatility.begin(), volatility.end(),
                                 [&](const VolatileColumn& v) { return v.column == name; });
        if (!known) {
            VolatileColumn v;
            v.column = name;
            v.volatility = VolatilityClass::observed;
            v.cause = "differed between two rehearsals";
            volatility.push_back(std::move(v));
        }
    }
}

// What a second rehearsal taught: the columns that differed and have no known cause.
void learn_from_second(const ImageStore& images, Evidence& first, const Evidence& second) {
    for (std::size_t i = 0; i < first.statements.size(); ++i) {
        add_observed(first.statements[i].volatility,
                     find_volatile_columns(images, first.statements[i], second.statements.at(i)));
    }
    for (auto& c : first.closure) {
        auto it =
            std::find_if(second.closure.begin(), second.closure.end(),
                         [&](const TableChanges& o) { return o.qualified() == c.qualified(); });
        if (it == second.closure.end() || it->columns != c.columns ||
            it->changed() != c.changed()) {
            first.volatility_unknown.push_back(c.qualified() +
                                               " changed differently in two rehearsals");
            continue;
        }
        add_observed(c.volatility, find_volatile_columns(images, c.after, it->after, c.columns));
    }
}

// A change's preview: after-images are approved. Each column that may differ at apply carries its
// class (volatility.hpp), and the images' digests mask those columns.
void cover_after_images(const ImageStore& images, Evidence& e) {
    for (auto& s : e.statements) {
        s.volatile_columns.clear();
        for (const auto& v : s.volatility) {
            s.volatile_columns.push_back(v.column);
        }
        s.after_masked =
            masked_after_digest(images, s.after, s.columns, s.key_columns, s.volatility);
    }
    for (auto& c : e.closure) {
        if (!c.count_only) {
            c.after_masked =
                masked_after_digest(images, c.after, c.columns, c.key_columns, c.volatility);
        }
    }
    e.after_approved = true;
}

// Runs `body` in a rolled-back transaction. A change (`model` given) learns its volatile
// after-image columns from their causes and rehearses a second time only when some cannot be
// known (dynamic SQL, a volatile application function): the columns that differed are then
// compared as `observed`. A revert (no model) rehearses twice as before, except a revert of a
// write closure (no statements), which runs once.
Evidence rehearse(Connection& connection, ImageStore& images, const EnvironmentTarget& target,
                  const SessionFacts& facts, RunKind kind, const std::string& plan_sha,
                  const std::vector<VerifyQuery>& verify, const RunBody& body,
                  const AfterBody& after_body, const VolatilityModel* model) {
    ImageScope scope(images);
    Evidence first;
    {
        Transaction tx(connection);
        first = make_evidence(kind, plan_sha, facts, body(connection, images));
        first.verify = run_verify(connection, verify);
        check_still_role(connection, target, "after the verify queries");
        if (after_body) {
            after_body(connection, images, first);
            check_still_role(connection, target, "after the capture");
        }
        tx.rollback();
    }
    if (model != nullptr) {
        for (auto& s : first.statements) {
            s.volatility = model->of(s.schema + "." + s.table);
        }
        for (auto& c : first.closure) {
            c.volatility = model->of(c.qualified());
        }
        first.volatility_unknown = model->unknown;
    }
    bool second_needed = !first.statements.empty() && (model == nullptr || !model->unknown.empty());
    if (second_needed) {
        Evidence second;
        {
            Transaction tx(connection);
            second = make_evidence(kind, plan_sha, facts, body(connection, images));
            if (model != nullptr && after_body) {
                after_body(connection, images, second);
            }
            tx.rollback();
        }
        if (model != nullptr) {
            learn_from_second(images, first, second);
        } else {
            for (std::size_t i = 0; i < first.statements.size(); ++i) {
                first.statements[i].volatile_columns =
                    find_volatile_columns(images, first.statements[i], second.statements.at(i));
            }
        }
        remove_images(second);
    }
    if (model != nullptr) {
        cover_after_images(images, first);
    }
    first.fingerprint = fingerprint(first);
    scope.keep();
    return first;
}

// The last value each sequence handed out, as the run's transaction begins (before its writes).
std::map<std::string, std::optional<long long>> last_values(Connection& connection,
                                                            const std::set<std::string>& names) {
    std::map<std::string, std::optional<long long>> out;
    for (const auto& name : names) {
        auto v = connection.query("SELECT pg_sequence_last_value(to_regclass($1))", {name});
        out[name] = v.at(0, 0) ? std::optional(std::stoll(*v.at(0, 0))) : std::nullopt;
    }
    return out;
}

std::set<std::string> approved_sequences(const Evidence& approved) {
    std::set<std::string> out;
    auto add = [&](const std::vector<VolatileColumn>& volatility) {
        for (const auto& v : volatility) {
            if (v.volatility == VolatilityClass::sequence) {
                out.insert(v.sequence);
            }
        }
    };
    for (const auto& s : approved.statements) {
        add(s.volatility);
    }
    for (const auto& c : approved.closure) {
        add(c.volatility);
    }
    return out;
}

// Every clock value is a time within this run's transaction (a second of slack either side, for
// columns that round), and every sequence value one the sequence handed out since it began.
void check_volatile_values(Connection& connection, const VolatileValues& values,
                           const std::map<std::string, std::optional<long long>>& before,
                           const std::string& environment) {
    const std::string hint =
        "the change gives these columns values that do not come from where the approved evidence "
        "says; preview again and have the pair approve the new evidence";
    for (const auto& [label, drawn] : values.drawn) {
        auto now = last_values(connection, {drawn.sequence}).at(drawn.sequence);
        auto it = before.find(drawn.sequence);
        bool bounded = it != before.end() && it->second.has_value();
        long long from = bounded ? *it->second : 0;
        long long outside = 0;
        for (const auto& text : drawn.values) {
            long long value = 0;
            try {
                value = std::stoll(text);
            } catch (const std::exception&) {
                ++outside;
                continue;
            }
            if (!now || value > *now || (bounded && value <= from)) {
                ++outside;
            }
        }
        if (outside > 0) {
            throw Error(ErrorCode::count_mismatch,
                        environment + ": " + std::to_string(outside) + " value(s) of " + label +
                            " did not come from " + drawn.sequence +
                            " during this apply; "
                            "rolled back",
                        hint);
        }
    }
    for (const auto& [label, clock] : values.clock) {
        if (clock.type != "timestamp with time zone" &&
            clock.type != "timestamp without time zone" && clock.type != "date") {
            throw Error(ErrorCode::count_mismatch,
                        environment + ": " + label +
                            " has a clock class on a type datafix "
                            "cannot compare; rolled back",
                        hint);
        }
        std::string joined;
        for (const auto& v : clock.values) {
            joined += (joined.empty() ? "" : "\n") + v;
        }
        const std::string& t = clock.type;
        auto outside =
            connection
                .query("SELECT count(*) FROM string_to_table($1, E'\\n') v WHERE NOT (v::" + t +
                           " BETWEEN (transaction_timestamp() - interval '1 second')::" + t +
                           " AND (clock_timestamp() + interval '1 second')::" + t + ")",
                       {joined})
                .scalar();
        if (outside != "0") {
            throw Error(ErrorCode::count_mismatch,
                        environment + ": " + label +
                            " holds a time that is not within this apply; rolled back",
                        hint);
        }
    }
}

}  // namespace

PreflightReport Session::preflight(const ChangePlan& plan) {
    auto& st = *state_;
    st.preflight = build_preflight(connected(st), st.facts, st.target, plan);
    return *st.preflight;
}

const PreflightReport* Session::last_preflight() const {
    return state_->preflight ? &*state_->preflight : nullptr;
}

Evidence Session::preview(const ChangePlan& plan, ImageStore& images) {
    auto& st = *state_;
    preflight(plan);
    refuse_unvouched_functions(*st.preflight);
    auto model = learn_volatility(connected(st), *st.preflight, plan);
    // The rehearsal's volatile columns are the model's (rehearse() assigns them the same way), so
    // the masked digests are streamed during the capture; a second rehearsal that finds more
    // reads the images again.
    VolatilityOf volatility_of_model = [&model](const std::string& table) {
        return model.of(table);
    };
    return rehearse(
        connected(st), images, st.target, st.facts, RunKind::change, plan.sha256, plan.verify,
        [&](Connection& c, ImageStore& i) {
            return execute_change(c, observer_of(st), i, st.target, plan, nullptr, *st.preflight,
                                  nullptr, volatility_of_model);
        },
        [&](Connection& c, ImageStore& i, Evidence& e) {
            capture_closure(st, plan, c, i, e, false, volatility_of_model);
        },
        &model);
}

namespace {

// The common end of apply and revert: hand out the xid, COMMIT, and resolve a lost answer.
Outcome commit_run(Session& session, Connection& connection, Transaction& tx,
                   const EnvironmentTarget& target, Evidence seen, ImageStore& images,
                   const std::string& xid, const BeforeCommit& before_commit,
                   const AfterCommitSent& fault) {
    check_still_role(connection, target, "right before COMMIT");
    int pid = connection.backend_pid();
    if (before_commit) {
        before_commit(xid, pid, seen);
    }
    tx.mark_finished();
    connection.send_commit();
    if (fault) {
        fault(CommitInFlight{xid, pid, [&connection] { connection.drop(); }});
    }
    bool acknowledged = false;
    try {
        acknowledged = connection.read_commit_result();
    } catch (const Error&) {
        remove_images(seen);
        throw;
    }
    auto transaction_time = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - tx.started());
    if (acknowledged) {
        Outcome out;
        out.transaction_time = transaction_time;
        out.status = OutcomeStatus::committed;
        out.xid = xid;
        out.backend_pid = pid;
        out.resolved_by = "commit acknowledged";
        out.applied = std::move(seen);
        return out;
    }
    // The answer was lost: ask the server (on a new connection) what happened to xid.
    Outcome out;
    try {
        out = session.resolve_in_doubt(xid, seen, images);
    } catch (const Error& e) {
        out.status = OutcomeStatus::in_doubt;
        out.resolved_by = "unresolved: " + e.message();
    }
    out.xid = xid;
    out.backend_pid = pid;
    out.transaction_time = transaction_time;
    if (out.status == OutcomeStatus::not_committed) {
        remove_images(seen);
        throw Error(ErrorCode::database,
                    target.name + ": the connection was lost during COMMIT and the transaction " +
                        xid + " did not commit (" + out.resolved_by + "); nothing changed",
                    "apply again when the database is reachable");
    }
    out.applied = std::move(seen);
    return out;
}

}  // namespace

Outcome Session::apply(const ChangePlan& plan, const Evidence& approved, ImageStore& images,
                       const BeforeCommit& before_commit, const AfterCommitSent& fault) {
    auto& st = *state_;
    if (approved.kind != RunKind::change || approved.plan_sha256 != plan.sha256 ||
        approved.statements.size() != plan.statements.size()) {
        throw Error(ErrorCode::count_mismatch,
                    st.target.name + ": the approved evidence is for another change",
                    "preview this change and have the pair approve its evidence");
    }
    if (fingerprint(approved) != approved.fingerprint) {
        // The approval names the fingerprint; evidence edited after it was approved is not it.
        throw Error(ErrorCode::count_mismatch,
                    st.target.name + ": the approved evidence does not match its fingerprint",
                    "preview again and have the pair approve the new evidence");
    }
    if (approved.system_identifier != st.facts.system_identifier) {
        throw Error(ErrorCode::target_refused,
                    st.target.name + ": the approved evidence was captured on another cluster",
                    "preview on this environment and approve that evidence");
    }
    preflight(plan);
    refuse_unvouched_functions(*st.preflight);
    auto& connection = connected(st);
    ImageScope scope(images);  // declared before the transaction: it outlives the rollback
    Transaction tx(connection);
    auto xid = connection.query("SELECT pg_current_xact_id()::text").scalar();
    auto drawn_before = last_values(connection, approved_sequences(approved));
    VolatileValues values;
    Evidence seen = make_evidence(RunKind::change, plan.sha256, st.facts,
                                  execute_change(connection, observer_of(st), images, st.target,
                                                 plan, &approved, *st.preflight, &values));
    seen.verify = run_verify(connection, plan.verify);
    fault_point("apply.statement");  // the statements ran; their transaction is open
    auto capture_started = std::chrono::steady_clock::now();
    if (approved.closure_captured) {
        capture_closure(st, plan, connection, images, seen, true,
                        [&approved](const std::string& table) {
                            for (const auto& a : approved.closure) {
                                if (a.qualified() == table) {
                                    return a.volatility;
                                }
                            }
                            return std::vector<VolatileColumn>{};
                        });
        fault_point("apply.captured");
        require_same_closure(images, seen, approved, st.target.name, &values);
    }
    check_volatile_values(connection, values, drawn_before, st.target.name);
    auto capture_time = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - capture_started);
    // What was compared is what the pair approved: the applied evidence carries the approved
    // classes and masked digests, so its fingerprint is the approved one when nothing differs.
    for (std::size_t i = 0; i < seen.statements.size(); ++i) {
        seen.statements[i].volatile_columns = approved.statements[i].volatile_columns;
        seen.statements[i].volatility = approved.statements[i].volatility;
        seen.statements[i].after_masked = approved.statements[i].after_masked;
    }
    for (auto& c : seen.closure) {
        for (const auto& a : approved.closure) {
            if (a.qualified() == c.qualified()) {
                c.volatility = a.volatility;
                c.after_masked = a.after_masked;
            }
        }
    }
    seen.after_approved = approved.after_approved;
    seen.volatility_unknown = approved.volatility_unknown;
    seen.fingerprint = fingerprint(seen);
    auto outcome = commit_run(*this, connection, tx, st.target, std::move(seen), images, xid,
                              before_commit, fault);
    outcome.capture_time = capture_time;
    scope.keep();  // committed or in doubt: a revert or a later resolution needs the images
    return outcome;
}

namespace {

[[noreturn]] void refuse_conflicts(const EnvironmentTarget& target, long long total,
                                   const std::vector<std::string>& conflicts) {
    std::string listed;
    for (const auto& c : conflicts) {
        listed += (listed.empty() ? "" : "; ") + c;
    }
    if (static_cast<long long>(conflicts.size()) < total) {
        listed +=
            "; and " + std::to_string(total - static_cast<long long>(conflicts.size())) + " more";
    }
    throw Error(ErrorCode::conflict,
                target.name + ": " + std::to_string(total) +
                    " rows changed since the change was applied, so reverting would overwrite "
                    "someone else's work: " +
                    listed + "; rolled back",
                "look at these rows with the product owner; revert with force only if their "
                "current values may be overwritten");
}

// Revert of a change whose whole write closure was captured: restore every restorable table,
// capture what the revert itself changed, and prove the rows are back (closure_restore.hpp).
void execute_closure_revert(Session::State& st, Connection& connection, ImageStore& images,
                            const Evidence& applied, const RevertOptions& options,
                            Evidence& revert) {
    ClosureRestore restored;
    try {
        restored = restore_closure(connection, images, applied.closure, true,
                                   st.target.revert_without_triggers);
    } catch (const Error& e) {
        if (e.code() != ErrorCode::database) {
            throw;
        }
        // A trigger refused a row, or a privilege is missing: the revert cannot be exact, and
        // pre-flight said so before the apply.
        throw revert_inexact_error(st.target.name,
                                   "the revert could not put the rows back: " + e.message(),
                                   applied.revert_hazards);
    }
    revert.conflicts = restored.conflicts;
    if (restored.conflict_count > 0 && !options.force) {
        refuse_conflicts(st.target, restored.conflict_count, restored.conflicts);
    }
    check_still_role(connection, st.target, "after restoring the closure");
    std::vector<ClosureTable> tables;
    for (const auto& c : applied.closure) {
        tables.push_back(ClosureTable{c.schema, c.table, {"revert"}, c.append_only});
    }
    revert.closure_captured = true;
    revert.closure = capture_changes(connection, observer_of(st), images, tables, "r");
    prove_restored(connection, images, applied.closure, revert.closure, applied.revert_hazards,
                   st.target.name);
}

std::vector<StatementEvidence> execute_revert(Connection& connection, ImageStore& images,
                                              const EnvironmentTarget& target,
                                              const Evidence& applied, const RevertOptions& options,
                                              std::vector<std::string>& conflicts,
                                              const Evidence* approved) {
    std::vector<StatementEvidence> out;
    long long total_conflicts = 0;
    // Last statement first: each step puts back the state the statement before it left.
    for (const auto& statement : std::ranges::reverse_view(applied.statements)) {
        auto result = restore_statement(connection, images, statement, true);
        check_still_role(connection, target,
                         "after restoring statement " + std::to_string(statement.index));
        total_conflicts += result.conflict_count;
        conflicts.insert(conflicts.end(), result.conflicts.begin(), result.conflicts.end());
        if (approved != nullptr) {
            require_same_as_approved(images, result.evidence, approved->statements.at(out.size()),
                                     target.name);
        }
        out.push_back(std::move(result.evidence));
    }
    if (total_conflicts > 0 && !options.force) {
        for (const auto& s : out) {
            std::error_code ec;
            std::filesystem::remove(s.before.path, ec);
            std::filesystem::remove(s.after.path, ec);
        }
        refuse_conflicts(target, total_conflicts, conflicts);
    }
    return out;
}

}  // namespace

Evidence Session::preview_revert(const Evidence& applied, ImageStore& images,
                                 const RevertOptions& options) {
    auto& st = *state_;
    if (applied.closure_captured) {
        return rehearse(
            connected(st), images, st.target, st.facts, RunKind::revert, applied.plan_sha256, {},
            [](Connection&, ImageStore&) { return std::vector<StatementEvidence>{}; },
            [&](Connection& c, ImageStore& i, Evidence& e) {
                execute_closure_revert(st, c, i, applied, options, e);
            },
            nullptr);
    }
    std::vector<std::string> conflicts;
    auto evidence = rehearse(
        connected(st), images, st.target, st.facts, RunKind::revert, applied.plan_sha256, {},
        [&](Connection& c, ImageStore& i) {
            conflicts.clear();
            return execute_revert(c, i, st.target, applied, options, conflicts, nullptr);
        },
        {}, nullptr);
    evidence.conflicts = conflicts;
    return evidence;
}

Outcome Session::apply_revert(const Evidence& applied, const Evidence& approved_revert,
                              ImageStore& images, const BeforeCommit& before_commit,
                              const RevertOptions& options, const AfterCommitSent& fault) {
    auto& st = *state_;
    bool closure = applied.closure_captured;
    if (approved_revert.kind != RunKind::revert ||
        approved_revert.plan_sha256 != applied.plan_sha256 ||
        approved_revert.closure_captured != closure ||
        (!closure && approved_revert.statements.size() != applied.statements.size())) {
        throw Error(ErrorCode::count_mismatch,
                    st.target.name + ": the approved revert evidence is for another change",
                    "preview the revert and have the pair approve its evidence");
    }
    auto& connection = connected(st);
    ImageScope scope(images);
    Transaction tx(connection);
    auto xid = connection.query("SELECT pg_current_xact_id()::text").scalar();
    Evidence seen = make_evidence(RunKind::revert, applied.plan_sha256, st.facts, {});
    if (closure) {
        execute_closure_revert(st, connection, images, applied, options, seen);
        fault_point("revert.captured");  // rows restored and captured; the transaction is open
        require_same_closure(images, seen, approved_revert, st.target.name);
    } else {
        std::vector<std::string> conflicts;
        seen.statements = execute_revert(connection, images, st.target, applied, options, conflicts,
                                         &approved_revert);
        seen.conflicts = conflicts;
    }
    seen.fingerprint = fingerprint(seen);
    auto outcome = commit_run(*this, connection, tx, st.target, std::move(seen), images, xid,
                              before_commit, fault);
    scope.keep();
    return outcome;
}

namespace {

// The current rows against the images: whether every after-image is current (and no deleted row
// is back), and whether the rows at the images' keys are exactly the before-images. Both can be
// true (a change that wrote what was there) and neither (rows changed since).
struct ImageMatch {
    bool after = true;
    bool before = true;
};

ImageMatch compare_with_images(Connection& connection, ImageStore& images,
                               const Evidence& applied) {
    Transaction tx(connection);
    ImageMatch match;
    if (applied.closure_captured) {
        // Every restorable table of the closure: the after-images current (no conflicts), or
        // the rows at the change's keys exactly the before-images.
        auto restored = restore_closure(connection, images, applied.closure, false, false);
        match.after = restored.conflict_count == 0;
        match.before = rows_equal_before_images(connection, images, applied.closure);
        tx.rollback();
        return match;
    }
    for (const auto& s : applied.statements) {
        auto result = restore_statement(connection, images, s, false);
        if (result.conflict_count > 0) {
            match.after = false;
        }
        if (result.evidence.before.digest != s.before.digest) {
            match.before = false;
        }
        std::error_code ec;
        std::filesystem::remove(result.evidence.before.path, ec);
        std::filesystem::remove(result.evidence.after.path, ec);
    }
    tx.rollback();
    return match;
}

std::string match_text(const ImageMatch& m) {
    return std::string("the rows ") + (m.after ? "match" : "do not match") +
           " the after-images and " + (m.before ? "match" : "do not match") + " the before-images";
}

}  // namespace

Outcome Session::resolve_in_doubt(const std::string& xid, const Evidence& applied,
                                  ImageStore& images) {
    auto& connection = connected(*state_);
    Outcome out;
    out.xid = xid;
    if (!xid.empty()) {
        // The old backend may still be finishing its COMMIT: wait for it to end, briefly.
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        for (;;) {
            // An xid at or past one handed out now was never assigned in this cluster's
            // history (its assignment never reached the WAL before a crash): pg_xact_status
            // would raise, and no transaction with it ever committed. The probe takes an xid of
            // its own, the only exact measure of the next one, and rolls back.
            std::optional<std::string> value;
            {
                Transaction probe(connection);
                value = connection
                            .query(
                                "SELECT CASE WHEN $1::xid8 >= pg_current_xact_id() "
                                "THEN 'never assigned' ELSE pg_xact_status($1::xid8) END",
                                {xid})
                            .rows.at(0)
                            .at(0);
                probe.rollback();
            }
            if (value == "never assigned") {
                auto match = compare_with_images(connection, images, applied);
                out.status = match.before && !match.after ? OutcomeStatus::not_committed
                                                          : OutcomeStatus::in_doubt;
                out.resolved_by = "the cluster never assigned xid " + xid +
                                  " (it restarted after a crash), and " + match_text(match);
                return out;
            }
            if (value == "committed" || value == "aborted") {
                // pg_xact_status alone is never enough: an xid whose assignment never reached
                // the WAL can be handed out again after a crash, and then it answers for
                // another transaction. The rows must agree.
                bool committed = value == "committed";
                auto match = compare_with_images(connection, images, applied);
                bool agrees = committed ? match.after : match.before;
                out.status = !agrees     ? OutcomeStatus::in_doubt
                             : committed ? OutcomeStatus::committed
                                         : OutcomeStatus::not_committed;
                out.resolved_by = "pg_xact_status says " + *value + ", and " + match_text(match);
                return out;
            }
            if (!value) {
                break;  // too old for the commit log: only the images can tell
            }
            if (std::chrono::steady_clock::now() > deadline) {
                // Still running (the old backend has not noticed the lost client yet): the
                // images would show the uncommitted state, so they must not decide.
                out.status = OutcomeStatus::in_doubt;
                out.resolved_by = "pg_xact_status: still in progress";
                return out;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    auto match = compare_with_images(connection, images, applied);
    out.status = match.after && !match.before   ? OutcomeStatus::committed
                 : match.before && !match.after ? OutcomeStatus::not_committed
                                                : OutcomeStatus::in_doubt;
    out.resolved_by = "no commit log answer; " + match_text(match);
    return out;
}

Outcome Session::live(const ChangePlan& plan, const LiveLimits& limits, ImageStore& images,
                      const AwaitLiveDecision& await, const BeforeCommit& before_commit,
                      const AfterCommitSent& fault) {
    auto& st = *state_;
    preflight(plan);
    refuse_unvouched_functions(*st.preflight);
    refuse_estimate_over_limit(*st.preflight, limits, st.target.name);
    auto& connection = connected(st);
    ImageScope scope(images);  // declared before the transaction: it outlives the rollback
    Transaction tx(connection);
    auto xid = connection.query("SELECT pg_current_xact_id()::text").scalar();
    Evidence seen = make_evidence(RunKind::change, plan.sha256, st.facts,
                                  execute_change(connection, observer_of(st), images, st.target,
                                                 plan, nullptr, *st.preflight));
    refuse_rows_over_limit(rows_held(seen), limits, st.target.name);
    seen.verify = run_verify(connection, plan.verify);
    check_still_role(connection, st.target, "after the verify queries");
    capture_closure(st, plan, connection, images, seen, false, {});
    check_still_role(connection, st.target, "after the capture");
    refuse_rows_over_limit(rows_held(seen), limits, st.target.name);
    // What commits is exactly what is shown: the after-images are covered whole (no column is
    // volatile between evidence and commit, they are one transaction).
    cover_after_images(images, seen);
    seen.fingerprint = fingerprint(seen);
    if (await(seen) != LiveDecision::commit) {
        tx.rollback();
        Outcome out;
        out.status = OutcomeStatus::not_committed;
        out.xid = xid;
        out.backend_pid = connection.backend_pid();
        out.resolved_by = "rolled back";
        return out;  // the scope removes the images: nothing changed
    }
    auto outcome = commit_run(*this, connection, tx, st.target, std::move(seen), images, xid,
                              before_commit, fault);
    scope.keep();  // committed or in doubt: a revert or a later resolution needs the images
    return outcome;
}

}  // namespace datafix::targetdb
