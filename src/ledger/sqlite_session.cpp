// The SQLite backend's session (SQLiteCpp): one connection, WAL, a busy timeout so concurrent
// writers queue for the write lock instead of failing, foreign keys on, full fsync on commit
// (the audit trail must survive a power cut).
#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include "core/error.hpp"
#include "ledger/sql_session.hpp"

namespace datafix::ledger {

namespace {

constexpr int kBusyTimeoutMs = 30000;

Error database_error(const SQLite::Exception& e, std::string_view what) {
    // A full disk or a read-only file: the step is refused before any target is touched (every
    // run is recorded before it starts), and reads keep working.
    const int code = e.getErrorCode() & 0xff;
    if (code == SQLITE_FULL || code == SQLITE_READONLY || code == SQLITE_IOERR) {
        return Error(ErrorCode::unreachable,
                     std::string("the ledger cannot record anything now (") +
                         (code == SQLITE_FULL       ? "its disk is full"
                          : code == SQLITE_READONLY ? "it is read-only"
                                                    : "an I/O error") +
                         "), so no step was taken and no database was touched",
                     "free space on (or make writable) the ledger's file system; the server goes "
                     "on serving reads and takes steps again once the ledger can write");
    }
    return Error(ErrorCode::database, "ledger (sqlite): " + std::string(what) + ": " + e.what(),
                 "check the ledger file, its directory permissions and free disk space");
}

class SqliteSession final : public SqlSession {
  public:
    explicit SqliteSession(const std::string& path)
        : db_(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, kBusyTimeoutMs) {
        db_.exec("PRAGMA journal_mode = WAL");
        db_.exec("PRAGMA synchronous = FULL");
        db_.exec("PRAGMA foreign_keys = ON");
        db_.exec("PRAGMA secure_delete = ON");
    }

    Dialect dialect() const override { return Dialect::sqlite; }

    void begin_write() override { run("BEGIN IMMEDIATE"); }
    void begin_read() override { run("BEGIN"); }
    void commit() override { run("COMMIT"); }
    void rollback() noexcept override {
        try {
            db_.exec("ROLLBACK");
        } catch (...) {  // nothing to roll back (the transaction already ended)
        }
    }

    std::vector<SqlRow> query(std::string_view sql, const std::vector<SqlValue>& params) override {
        try {
            SQLite::Statement statement(db_, std::string(sql));
            bind(statement, params);
            std::vector<SqlRow> rows;
            const int columns = statement.getColumnCount();
            while (statement.executeStep()) {
                std::vector<std::optional<std::string>> cells;
                cells.reserve(static_cast<std::size_t>(columns));
                for (int i = 0; i < columns; ++i) {
                    SQLite::Column column = statement.getColumn(i);
                    if (column.isNull()) {
                        cells.emplace_back(std::nullopt);
                    } else {
                        cells.emplace_back(column.getString());
                    }
                }
                rows.emplace_back(std::move(cells));
            }
            return rows;
        } catch (const SQLite::Exception& e) {
            throw database_error(e, "query failed");
        }
    }

    std::int64_t exec(std::string_view sql, const std::vector<SqlValue>& params) override {
        try {
            SQLite::Statement statement(db_, std::string(sql));
            bind(statement, params);
            return statement.exec();
        } catch (const SQLite::Exception& e) {
            throw database_error(e, "statement failed");
        }
    }

    void exec_script(std::string_view sql) override { run(std::string(sql)); }
    bool usable() noexcept override { return sqlite3_get_autocommit(db_.getHandle()) != 0; }

  private:
    void run(const std::string& sql) {
        try {
            db_.exec(sql);
        } catch (const SQLite::Exception& e) {
            throw database_error(e, "statement failed");
        }
    }

    static void bind(SQLite::Statement& statement, const std::vector<SqlValue>& params) {
        int index = 1;
        for (const SqlValue& value : params) {
            switch (value.kind) {
                case SqlValue::Kind::null:
                    statement.bind(index);
                    break;
                case SqlValue::Kind::integer:
                    statement.bind(index, static_cast<int64_t>(value.integer));
                    break;
                case SqlValue::Kind::text:
                    statement.bind(index, value.bytes);
                    break;
                case SqlValue::Kind::blob:
                    statement.bind(index, value.bytes.data(), static_cast<int>(value.bytes.size()));
                    break;
            }
            ++index;
        }
    }

    SQLite::Database db_;
};

}  // namespace

std::unique_ptr<SqlSession> open_sqlite_session(const std::string& path) {
    try {
        return std::make_unique<SqliteSession>(path);
    } catch (const SQLite::Exception& e) {
        throw Error(ErrorCode::config,
                    "cannot open the ledger file " + path + ": " + std::string(e.what()),
                    "check the path and the permissions of its directory");
    }
}

}  // namespace datafix::ledger
