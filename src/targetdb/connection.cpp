// libpq underneath the target layer: statements with parameters, COPY streaming both ways, and a
// COMMIT split in two so a lost answer is noticed rather than mistaken for success or failure.
#include "targetdb/connection.hpp"

#include <libpq-fe.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <map>
#include <string>

#include "core/error.hpp"

namespace datafix::targetdb {

struct Connection::Handle {
    PGconn* conn = nullptr;
    // The answer to a COMMIT was lost on this connection: whatever libpq still reports, it is
    // never used again (a reused socket could answer for the dead session).
    bool lost = false;
    ~Handle() {
        if (conn != nullptr) {
            PQfinish(conn);
        }
    }
};

namespace {

struct ResultDeleter {
    void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

std::string first_line(const char* text) {
    std::string s = text == nullptr ? "" : text;
    auto nl = s.find('\n');
    if (nl != std::string::npos) {
        s.resize(nl);
    }
    return s;
}

// Maps a failed result to datafix::Error.
bool has_sqlstate(PGresult* result) {
    return result != nullptr && PQresultErrorField(result, PG_DIAG_SQLSTATE) != nullptr;
}

std::string field(PGresult* result, int code) {
    const char* value = result == nullptr ? nullptr : PQresultErrorField(result, code);
    return value == nullptr ? std::string() : std::string(value);
}

// The condition names of the SQLSTATEs a data change meets most (PostgreSQL's errcodes).
std::string condition_name(const std::string& sqlstate) {
    static const std::map<std::string, std::string> names = {
        {"23502", "not_null_violation"},
        {"23503", "foreign_key_violation"},
        {"23505", "unique_violation"},
        {"23514", "check_violation"},
        {"23P01", "exclusion_violation"},
        {"P0001", "raise_exception"},
        {"P0002", "no_data_found"},
        {"P0003", "too_many_rows"},
        {"P0004", "assert_failure"},
        {"40001", "serialization_failure"},
        {"40P01", "deadlock_detected"},
        {"55P03", "lock_not_available"},
        {"57014", "query_canceled"},
        {"25006", "read_only_sql_transaction"},
        {"22001", "string_data_right_truncation"},
        {"22003", "numeric_value_out_of_range"},
        {"22012", "division_by_zero"},
        {"22P02", "invalid_text_representation"},
        {"22007", "invalid_datetime_format"},
        {"22008", "datetime_field_overflow"},
        {"21000", "cardinality_violation"},
        {"27000", "triggered_data_change_violation"},
        {"09000", "triggered_action_exception"},
        {"42501", "insufficient_privilege"},
    };
    auto it = names.find(sqlstate);
    return it == names.end() ? "error" : it->second;
}

// "PL/pgSQL function app_public.refuse_archived_update() line 4 at RAISE" -> the part up to the
// closing parenthesis of the innermost PL/pgSQL function: its name and argument types, never the
// statement or values the CONTEXT lines may also quote.
std::string raising_function(const std::string& context) {
    const std::string marker = "PL/pgSQL function ";
    auto at = context.find(marker);
    if (at == std::string::npos) {
        return {};
    }
    auto close = context.find(')', at);
    auto eol = context.find('\n', at);
    if (close == std::string::npos || (eol != std::string::npos && close > eol)) {
        return {};
    }
    return context.substr(at, close + 1 - at);
}

// Otherwise the server's text can quote row values: a unique violation's key, a trigger's RAISE
// with the row it refused, a data exception's input. Those errors keep the SQLSTATE, its condition
// name and the names the server reports in separate fields (constraint, table, column, the raising
// function), so API bodies, logs and evidence never hold a value.
std::string reduced_message(PGresult* result, const std::string& sqlstate) {
    std::string text = condition_name(sqlstate);
    const std::string constraint = field(result, PG_DIAG_CONSTRAINT_NAME);
    const std::string schema = field(result, PG_DIAG_SCHEMA_NAME);
    const std::string table = field(result, PG_DIAG_TABLE_NAME);
    const std::string column = field(result, PG_DIAG_COLUMN_NAME);
    const std::string function = raising_function(field(result, PG_DIAG_CONTEXT));
    if (!constraint.empty()) {
        text += " of constraint \"" + constraint + "\"";
    }
    if (!column.empty()) {
        text += " in column " + column;
    }
    if (!table.empty()) {
        text += " on table " + (schema.empty() ? table : schema + "." + table);
    }
    if (!function.empty()) {
        text += " raised by " + function;
    }
    return text + " (the database's message is not shown: it can quote row values)";
}

// Class 42 is about the statement the pair wrote (syntax, privileges, missing objects), and a few
// operational errors have fixed texts (locks, timeouts, a terminated backend, serialization):
// their primary message stays. Any error a PL/pgSQL RAISE or ASSERT produced is reduced whatever
// SQLSTATE it claims, since its text is the function's own.
bool keeps_message(const std::string& sqlstate, const std::string& context) {
    if (context.find(" at RAISE") != std::string::npos ||
        context.find(" at ASSERT") != std::string::npos) {
        return false;
    }
    static const std::array<const char*, 8> fixed_texts = {"55P03", "57014", "57P01", "57P02",
                                                           "57P03", "40001", "40P01", "25006"};
    return sqlstate.rfind("42", 0) == 0 ||
           std::find(fixed_texts.begin(), fixed_texts.end(), sqlstate) != fixed_texts.end();
}

[[noreturn]] void throw_result_error(PGconn* conn, PGresult* result, const std::string& env) {
    // No SQLSTATE: libpq's own communication failure, whatever PQstatus says yet.
    if (PQstatus(conn) == CONNECTION_BAD || (result != nullptr && !has_sqlstate(result))) {
        throw Error(ErrorCode::unreachable,
                    "the connection to " + env + " was lost: " + first_line(PQerrorMessage(conn)),
                    "nothing was committed; run the step again");
    }
    const std::string sqlstate = field(result, PG_DIAG_SQLSTATE);
    std::string message;
    bool reduced = false;
    if (result == nullptr) {
        // libpq's own account of a failed call (no server error to reduce).
        message = first_line(PQerrorMessage(conn));
    } else if (keeps_message(sqlstate, field(result, PG_DIAG_CONTEXT))) {
        // Only the primary message: the DETAIL line is never kept.
        const std::string primary = field(result, PG_DIAG_MESSAGE_PRIMARY);
        message = primary.empty() ? first_line(PQerrorMessage(conn)) : primary;
    } else {
        message = reduced_message(result, sqlstate);
        reduced = true;
    }
    std::string hint;
    if (sqlstate == "55P03") {
        hint = "another session holds a lock on these rows; try again when it has finished";
    } else if (sqlstate == "57014") {
        hint = "the statement ran longer than statement_timeout; nothing was committed";
    } else if (sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03") {
        hint = "the server ended the session; nothing was committed";
    } else if (sqlstate == "40001") {
        hint = "a concurrent change conflicted; preview again";
    } else if (reduced) {
        hint =
            "the database refused the change; its own message is in the database server's "
            "log, which only its administrators read";
    }
    throw Error(ErrorCode::database, env + ": " + message + " (SQLSTATE " + sqlstate + ")", hint);
}

}  // namespace

std::string QueryResult::scalar() const {
    if (rows.size() != 1 || rows[0].size() != 1) {
        throw Error(ErrorCode::internal,
                    "expected one value, got " + std::to_string(rows.size()) + " rows");
    }
    return rows[0][0].value_or("");
}

std::unique_ptr<Connection> Connection::open(const std::string& conninfo,
                                             const std::string& environment) {
    std::unique_ptr<Connection> c(new Connection());
    c->environment_ = environment;
    c->handle_ = std::make_unique<Handle>();
    c->handle_->conn = PQconnectdb(conninfo.c_str());
    if (c->handle_->conn == nullptr || PQstatus(c->handle_->conn) != CONNECTION_OK) {
        std::string why = c->handle_->conn == nullptr
                              ? "out of memory"
                              : first_line(PQerrorMessage(c->handle_->conn));
        throw Error(ErrorCode::unreachable, "cannot connect to " + environment + ": " + why,
                    "check the environment's conninfo, the password file and that the server "
                    "is up");
    }
    // libpq's default prints NOTICE and WARNING text to stderr, and a trigger's RAISE NOTICE may
    // quote row values: the server's logs must never hold them.
    PQsetNoticeProcessor(
        c->handle_->conn, [](void*, const char*) {}, nullptr);
    return c;
}

Connection::~Connection() = default;

QueryResult Connection::query(std::string_view sql, const std::vector<std::string>& params) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) {
        values.push_back(p.c_str());
    }
    std::string text(sql);
    ResultPtr r(PQexecParams(handle_->conn, text.c_str(), static_cast<int>(values.size()), nullptr,
                             values.data(), nullptr, nullptr, 0));
    auto status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        throw_result_error(handle_->conn, r.get(), environment_);
    }
    QueryResult out;
    int nfields = PQnfields(r.get());
    for (int c = 0; c < nfields; ++c) {
        out.columns.emplace_back(PQfname(r.get(), c));
    }
    int ntuples = PQntuples(r.get());
    out.rows.reserve(ntuples);
    for (int row = 0; row < ntuples; ++row) {
        std::vector<std::optional<std::string>> values_out;
        values_out.reserve(nfields);
        for (int c = 0; c < nfields; ++c) {
            if (PQgetisnull(r.get(), row, c)) {
                values_out.emplace_back(std::nullopt);
            } else {
                values_out.emplace_back(
                    std::string(PQgetvalue(r.get(), row, c), PQgetlength(r.get(), row, c)));
            }
        }
        out.rows.push_back(std::move(values_out));
    }
    const char* tuples = PQcmdTuples(r.get());
    out.affected = (tuples != nullptr && *tuples != '\0') ? std::stoll(tuples) : 0;
    return out;
}

namespace {

long long finish_copy(PGconn* conn, const std::string& env) {
    long long count = 0;
    bool failed = false;
    ResultPtr failure;
    while (PGresult* raw = PQgetResult(conn)) {
        ResultPtr r(raw);
        if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
            failed = true;
            failure = std::move(r);
            continue;
        }
        const char* tuples = PQcmdTuples(r.get());
        count = (tuples != nullptr && *tuples != '\0') ? std::stoll(tuples) : 0;
    }
    if (failed || PQstatus(conn) == CONNECTION_BAD) {
        throw_result_error(conn, failure.get(), env);
    }
    return count;
}

}  // namespace

long long Connection::copy_out(std::string_view sql,
                               const std::function<void(std::string_view)>& sink) {
    std::string text(sql);
    if (PQsendQuery(handle_->conn, text.c_str()) == 0) {
        throw_result_error(handle_->conn, nullptr, environment_);
    }
    ResultPtr first(PQgetResult(handle_->conn));
    if (!first || PQresultStatus(first.get()) != PGRES_COPY_OUT) {
        PGresult* failed = first.release();
        ResultPtr keep(failed);
        while (PGresult* rest = PQgetResult(handle_->conn)) {
            PQclear(rest);
        }
        throw_result_error(handle_->conn, keep.get(), environment_);
    }
    // An exception from the sink must not leave libpq mid-COPY; drain first, rethrow after.
    std::exception_ptr sink_error;
    for (;;) {
        char* buffer = nullptr;
        int n = PQgetCopyData(handle_->conn, &buffer, 0);
        if (n < 0) {
            break;
        }
        if (!sink_error) {
            std::string_view line(buffer, static_cast<std::size_t>(n));
            if (!line.empty() && line.back() == '\n') {
                line.remove_suffix(1);
            }
            try {
                sink(line);
            } catch (...) {
                sink_error = std::current_exception();
            }
        }
        PQfreemem(buffer);
    }
    long long count = finish_copy(handle_->conn, environment_);
    if (sink_error) {
        std::rethrow_exception(sink_error);
    }
    return count;
}

long long Connection::copy_in(std::string_view sql,
                              const std::function<bool(std::string&)>& source) {
    std::string text(sql);
    ResultPtr first(PQexec(handle_->conn, text.c_str()));
    if (!first || PQresultStatus(first.get()) != PGRES_COPY_IN) {
        throw_result_error(handle_->conn, first.get(), environment_);
    }
    std::exception_ptr source_error;
    try {
        std::string line;
        std::string batch;
        while (source(line)) {
            batch.append(line);
            batch.push_back('\n');
            if (batch.size() >= 256 * 1024) {
                if (PQputCopyData(handle_->conn, batch.data(), static_cast<int>(batch.size())) !=
                    1) {
                    break;
                }
                batch.clear();
            }
        }
        if (!batch.empty()) {
            PQputCopyData(handle_->conn, batch.data(), static_cast<int>(batch.size()));
        }
    } catch (...) {
        source_error = std::current_exception();
    }
    PQputCopyEnd(handle_->conn, source_error ? "datafix: image file unreadable" : nullptr);
    if (source_error) {
        try {
            finish_copy(handle_->conn, environment_);
        } catch (...) {
            // The COPY was ended on purpose; the source's own error is the one to report.
        }
        std::rethrow_exception(source_error);
    }
    return finish_copy(handle_->conn, environment_);
}

void Connection::send_commit() {
    if (PQsendQuery(handle_->conn, "COMMIT") == 0) {
        // Not even sent: the server cannot have committed, but the caller treats a failed send
        // like a lost answer and resolves it, which is never wrong.
        return;
    }
    PQflush(handle_->conn);
}

bool Connection::read_commit_result() {
    bool acknowledged = false;
    bool refused = false;
    ResultPtr failure;
    while (PGresult* raw = PQgetResult(handle_->conn)) {
        ResultPtr r(raw);
        if (PQresultStatus(r.get()) == PGRES_COMMAND_OK) {
            // "ROLLBACK" is the tag when the transaction had already failed: not a commit.
            acknowledged = std::string(PQcmdStatus(r.get())) == "COMMIT";
            refused = !acknowledged;
        } else {
            refused = true;
            failure = std::move(r);
        }
    }
    if (PQstatus(handle_->conn) == CONNECTION_BAD || (failure && !has_sqlstate(failure.get()))) {
        handle_->lost = true;
        return false;
    }
    if (refused || !acknowledged) {
        if (failure) {
            throw_result_error(handle_->conn, failure.get(), environment_);
        }
        throw Error(ErrorCode::database, environment_ + ": the server rolled the transaction back",
                    "nothing was committed");
    }
    return true;
}

bool Connection::alive() const {
    return !handle_->lost && PQstatus(handle_->conn) == CONNECTION_OK;
}

int Connection::backend_pid() const {
    return PQbackendPID(handle_->conn);
}

void Connection::drop() {
    // Replace the socket with one whose peer is closed: the server sees the client go away, and
    // libpq's next read fails even if the server's answer had already arrived, as after a network
    // cut.
    int fd = PQsocket(handle_->conn);
    if (fd < 0) {
        return;
    }
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0) {
        ::dup2(pair[0], fd);
        ::close(pair[0]);
        ::close(pair[1]);  // the far end is gone: the next read sees end of file
    }
}

std::string Connection::quote_identifier(std::string_view name) const {
    std::string text(name);
    char* quoted = PQescapeIdentifier(handle_->conn, text.c_str(), text.size());
    if (quoted == nullptr) {
        throw Error(ErrorCode::internal, "cannot quote identifier");
    }
    std::string out(quoted);
    PQfreemem(quoted);
    return out;
}

Transaction::Transaction(Connection& connection) : connection_(connection) {
    connection_.query("BEGIN ISOLATION LEVEL REPEATABLE READ");
}

Transaction::~Transaction() {
    if (finished_) {
        return;
    }
    try {
        if (connection_.alive()) {
            connection_.query("ROLLBACK");
        }
    } catch (...) {
        // A failed ROLLBACK means the connection is gone, and with it the transaction.
    }
}

void Transaction::rollback() {
    finished_ = true;
    if (connection_.alive()) {
        connection_.query("ROLLBACK");
    }
}

namespace {

// pg_export_snapshot() names are hex and dashes; anything else never becomes SQL text.
std::string checked_snapshot(const std::string& name) {
    bool valid =
        !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
            return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == '-';
        });
    if (!valid) {
        throw Error(ErrorCode::internal, "unexpected snapshot name from pg_export_snapshot()");
    }
    return name;
}

}  // namespace

SharedSnapshot::SharedSnapshot(Connection& run, Connection& observer) : observer_(observer) {
    auto snapshot = checked_snapshot(run.query("SELECT pg_export_snapshot()").scalar());
    observer_.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    try {
        observer_.query("SET TRANSACTION SNAPSHOT '" + snapshot + "'");
    } catch (...) {
        finished_ = true;
        try {
            observer_.query("ROLLBACK");
        } catch (...) {
            // The observer is replaced when it is found dead; the first error matters.
        }
        throw;
    }
}

SharedSnapshot::~SharedSnapshot() {
    if (finished_) {
        return;
    }
    try {
        if (observer_.alive()) {
            observer_.query("ROLLBACK");
        }
    } catch (...) {
        // A failed ROLLBACK means the connection is gone, and with it the transaction.
    }
}

void SharedSnapshot::finish() {
    finished_ = true;
    observer_.query("ROLLBACK");
}

}  // namespace datafix::targetdb
