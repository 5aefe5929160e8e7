// The PostgreSQL backend's session (libpq): one connection; `?` placeholders become $n; bytes
// are sent and received as bytea. Row locks (FOR UPDATE on the request and on audit_head) order
// writers from every server sharing the ledger.
#include <libpq-fe.h>

#include <memory>

#include "core/error.hpp"
#include "ledger/sql_session.hpp"

namespace datafix::ledger {

namespace {

struct ResultDeleter {
    void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

std::string renumber(std::string_view sql) {
    std::string out;
    out.reserve(sql.size() + 16);
    int n = 0;
    for (char c : sql) {
        if (c == '?') {
            out += "$" + std::to_string(++n);
        } else {
            out.push_back(c);
        }
    }
    return out;
}

std::string unescape_bytea(const char* text) {
    std::size_t length = 0;
    unsigned char* bytes = PQunescapeBytea(reinterpret_cast<const unsigned char*>(text), &length);
    if (bytes == nullptr) {
        throw Error(ErrorCode::database, "ledger (postgresql): cannot decode a bytea value");
    }
    std::string out(reinterpret_cast<const char*>(bytes), length);
    PQfreemem(bytes);
    return out;
}

constexpr Oid kByteaOid = 17;

class PostgresqlSession final : public SqlSession {
  public:
    explicit PostgresqlSession(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
        if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
            std::string message = conn_ ? PQerrorMessage(conn_) : "out of memory";
            if (conn_ != nullptr) {
                PQfinish(conn_);
            }
            throw Error(ErrorCode::unreachable, "cannot connect to the ledger database: " + message,
                        "check the ledger URL in the configuration");
        }
        // Warnings go nowhere: libpq's default would print them to the server's stderr.
        PQsetNoticeProcessor(
            conn_, [](void*, const char*) {}, nullptr);
        exec_script("SET client_min_messages = warning");
    }
    ~PostgresqlSession() override { PQfinish(conn_); }
    PostgresqlSession(const PostgresqlSession&) = delete;
    PostgresqlSession& operator=(const PostgresqlSession&) = delete;

    Dialect dialect() const override { return Dialect::postgresql; }
    void begin_write() override { exec_script("BEGIN ISOLATION LEVEL READ COMMITTED"); }
    void begin_read() override { exec_script("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); }
    void commit() override { exec_script("COMMIT"); }
    void rollback() noexcept override {
        Result r(PQexec(conn_, "ROLLBACK"));
        (void)r;
    }

    std::vector<SqlRow> query(std::string_view sql, const std::vector<SqlValue>& params) override {
        Result result = run(sql, params);
        const int rows = PQntuples(result.get());
        const int columns = PQnfields(result.get());
        std::vector<SqlRow> out;
        out.reserve(static_cast<std::size_t>(rows));
        for (int i = 0; i < rows; ++i) {
            std::vector<std::optional<std::string>> cells;
            for (int j = 0; j < columns; ++j) {
                if (PQgetisnull(result.get(), i, j)) {
                    cells.emplace_back(std::nullopt);
                } else if (PQftype(result.get(), j) == kByteaOid) {
                    cells.emplace_back(unescape_bytea(PQgetvalue(result.get(), i, j)));
                } else {
                    cells.emplace_back(
                        std::string(PQgetvalue(result.get(), i, j),
                                    static_cast<std::size_t>(PQgetlength(result.get(), i, j))));
                }
            }
            out.emplace_back(std::move(cells));
        }
        return out;
    }

    std::int64_t exec(std::string_view sql, const std::vector<SqlValue>& params) override {
        Result result = run(sql, params);
        const char* affected = PQcmdTuples(result.get());
        return (affected == nullptr || *affected == '\0') ? 0 : std::stoll(affected);
    }

    void exec_script(std::string_view sql) override {
        Result result(PQexec(conn_, std::string(sql).c_str()));
        check(result.get());
    }

    bool usable() noexcept override {
        // Reads what the server sent while the session sat idle: a terminated backend's FATAL
        // and end of file mark the connection bad without sending anything.
        if (PQstatus(conn_) != CONNECTION_OK || PQconsumeInput(conn_) == 0) {
            return false;
        }
        return PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) == PQTRANS_IDLE;
    }

  private:
    Result run(std::string_view sql, const std::vector<SqlValue>& params) {
        std::vector<std::string> texts(params.size());
        std::vector<const char*> values(params.size(), nullptr);
        std::vector<int> lengths(params.size(), 0);
        std::vector<int> formats(params.size(), 0);
        std::vector<Oid> types(params.size(), 0);
        for (std::size_t i = 0; i < params.size(); ++i) {
            const SqlValue& v = params[i];
            switch (v.kind) {
                case SqlValue::Kind::null:
                    break;
                case SqlValue::Kind::integer:
                    texts[i] = std::to_string(v.integer);
                    values[i] = texts[i].c_str();
                    types[i] = 20;  // int8
                    break;
                case SqlValue::Kind::text:
                    values[i] = v.bytes.c_str();
                    types[i] = 25;  // text
                    break;
                case SqlValue::Kind::blob:
                    values[i] = v.bytes.data();
                    lengths[i] = static_cast<int>(v.bytes.size());
                    formats[i] = 1;
                    types[i] = kByteaOid;
                    break;
            }
        }
        Result result(PQexecParams(conn_, renumber(sql).c_str(), static_cast<int>(params.size()),
                                   types.data(), values.data(), lengths.data(), formats.data(), 0));
        check(result.get());
        return result;
    }

    void check(PGresult* result) {
        const ExecStatusType status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
        if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
            return;
        }
        // Only the primary message, its SQLSTATE and the constraint's name: PostgreSQL's DETAIL
        // line quotes the key values of a violated constraint (a person's id, an e-mail).
        const char* primary =
            result != nullptr ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
        const char* sqlstate =
            result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
        std::string message = primary != nullptr ? primary : PQerrorMessage(conn_);
        message = message.substr(0, message.find('\n'));
        if (sqlstate != nullptr) {
            message = std::string("SQLSTATE ") + sqlstate + ": " + message;
        }
        const ErrorCode code =
            PQstatus(conn_) == CONNECTION_OK ? ErrorCode::database : ErrorCode::unreachable;
        throw Error(code, "ledger (postgresql): " + message,
                    "check the ledger database and its connection");
    }

    PGconn* conn_;
};

}  // namespace

std::unique_ptr<SqlSession> open_postgresql_session(const std::string& conninfo) {
    return std::make_unique<PostgresqlSession>(conninfo);
}

}  // namespace datafix::ledger
