// libpq underneath the target layer: statements with parameters, COPY streaming both ways, and a
// COMMIT split in two so a lost answer is noticed rather than mistaken for success or failure.
#include "target/connection.hpp"

#include <libpq-fe.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "core/error.hpp"

namespace datafix::target {

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

// Maps a failed result to datafix::Error. Only the primary message and SQLSTATE are kept: the
// DETAIL line may quote row values (unique violations do), which must not reach logs.
bool has_sqlstate(PGresult* result) {
    return result != nullptr && PQresultErrorField(result, PG_DIAG_SQLSTATE) != nullptr;
}

[[noreturn]] void throw_result_error(PGconn* conn, PGresult* result, const std::string& env) {
    // No SQLSTATE: libpq's own communication failure, whatever PQstatus says yet.
    if (PQstatus(conn) == CONNECTION_BAD || (result != nullptr && !has_sqlstate(result))) {
        throw Error(ErrorCode::unreachable,
                    "the connection to " + env + " was lost: " + first_line(PQerrorMessage(conn)),
                    "nothing was committed; run the step again");
    }
    const char* state = result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_SQLSTATE);
    const char* primary =
        result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
    std::string sqlstate = state == nullptr ? "" : state;
    std::string message = primary != nullptr ? primary : first_line(PQerrorMessage(conn));
    std::string hint;
    if (sqlstate == "55P03") {
        hint = "another session holds a lock on these rows; try again when it has finished";
    } else if (sqlstate == "57014") {
        hint = "the statement ran longer than statement_timeout; nothing was committed";
    } else if (sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03") {
        hint = "the server ended the session; nothing was committed";
    } else if (sqlstate == "40001") {
        hint = "a concurrent change conflicted; preview again";
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

}  // namespace datafix::target
