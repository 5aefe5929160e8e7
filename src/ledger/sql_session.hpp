// Internal to the ledger: the little SQL surface the ledger needs from a backend — transactions,
// parameterized statements, rows of text or bytes — so the ledger's logic is written once for
// SQLite and PostgreSQL. Statements use `?` placeholders; the PostgreSQL session renumbers them.
// No C types here: sqlite3 and PGconn stay in the .cpp files.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace datafix::ledger {

enum class Dialect {
    sqlite,
    postgresql,
};

struct SqlValue {
    enum class Kind { null, integer, text, blob };
    Kind kind = Kind::null;
    std::int64_t integer = 0;
    std::string bytes;

    static SqlValue null() { return {}; }
    static SqlValue of(std::int64_t v) { return {Kind::integer, v, {}}; }
    static SqlValue of(std::string v) { return {Kind::text, 0, std::move(v)}; }
    static SqlValue blob(std::string v) { return {Kind::blob, 0, std::move(v)}; }
    static SqlValue of(const std::optional<std::int64_t>& v) { return v ? of(*v) : null(); }
};

class SqlRow {
  public:
    explicit SqlRow(std::vector<std::optional<std::string>> cells) : cells_(std::move(cells)) {}
    bool is_null(std::size_t i) const { return !cells_.at(i).has_value(); }
    const std::string& text(std::size_t i) const;  // "" for NULL
    std::int64_t integer(std::size_t i) const;     // 0 for NULL
    std::optional<std::int64_t> optional_integer(std::size_t i) const;

  private:
    std::vector<std::optional<std::string>> cells_;
};

class SqlSession {
  public:
    virtual ~SqlSession() = default;
    virtual Dialect dialect() const = 0;
    // A write transaction that takes the store's write lock at once (SQLite BEGIN IMMEDIATE),
    // or a plain BEGIN where row locks do the work (PostgreSQL, with FOR UPDATE).
    virtual void begin_write() = 0;
    virtual void begin_read() = 0;
    virtual void commit() = 0;
    virtual void rollback() noexcept = 0;
    virtual std::vector<SqlRow> query(std::string_view sql,
                                      const std::vector<SqlValue>& params) = 0;
    // Returns the number of rows changed.
    virtual std::int64_t exec(std::string_view sql, const std::vector<SqlValue>& params = {}) = 0;
    // Several statements without parameters (migrations).
    virtual void exec_script(std::string_view sql) = 0;
    // Whether the session can serve another caller: connected and outside any transaction. A
    // PostgreSQL session whose server went away (restart, failover) answers false, so the pool
    // drops it and opens a new one.
    virtual bool usable() noexcept = 0;
};

std::unique_ptr<SqlSession> open_sqlite_session(const std::string& path);
std::unique_ptr<SqlSession> open_postgresql_session(const std::string& conninfo);

// Rolls back unless committed; never throws from its destructor.
class SqlTransaction {
  public:
    enum class Mode { read, write };
    SqlTransaction(SqlSession& session, Mode mode);
    ~SqlTransaction();
    SqlTransaction(const SqlTransaction&) = delete;
    SqlTransaction& operator=(const SqlTransaction&) = delete;
    void commit();

  private:
    SqlSession& session_;
    bool open_ = true;
};

}  // namespace datafix::ledger
