// The libpq connection the target layer owns. Internal to src/target/: callers use Session's
// named operations; only this layer's files send SQL. PGconn stays in connection.cpp.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace datafix::targetdb {

struct QueryResult {
    std::vector<std::string> columns;
    std::vector<std::vector<std::optional<std::string>>> rows;
    long long affected = 0;  // PQcmdTuples: rows a DML statement or a COPY touched

    const std::optional<std::string>& at(std::size_t row, std::size_t column) const {
        return rows.at(row).at(column);
    }
    // The single value of a one-row, one-column result ("" for NULL).
    std::string scalar() const;
};

class Connection {
  public:
    // Connects; throws Error(unreachable) naming the environment, never the password.
    static std::unique_ptr<Connection> open(const std::string& conninfo,
                                            const std::string& environment);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Runs one statement with text parameters. Throws Error(database) with the SQLSTATE, or
    // Error(unreachable) when the connection is gone.
    QueryResult query(std::string_view sql, const std::vector<std::string>& params = {});
    // Runs `COPY (...) TO STDOUT`, handing each line (without its newline) to `sink`; returns
    // the row count from the command tag.
    long long copy_out(std::string_view sql, const std::function<void(std::string_view)>& sink);
    // Runs `COPY ... FROM STDIN`, pulling lines (without newline) from `source` until it returns
    // false.
    long long copy_in(std::string_view sql, const std::function<bool(std::string&)>& source);

    // COMMIT in two halves so a fault can be injected between sending and reading the result.
    void send_commit();
    // True when the server acknowledged the COMMIT; throws Error(database) when it refused;
    // returns false when the connection was lost before an answer arrived.
    bool read_commit_result();

    bool alive() const;
    int backend_pid() const;
    void drop();  // shuts the socket down, as a network cut would (fault injection)
    std::string quote_identifier(std::string_view name) const;
    const std::string& environment() const { return environment_; }

  private:
    Connection() = default;
    struct Handle;
    std::unique_ptr<Handle> handle_;
    std::string environment_;
};

// RAII transaction: BEGIN ISOLATION LEVEL REPEATABLE READ on construction; ROLLBACK on
// destruction unless committed or released. Never throws from the destructor.
class Transaction {
  public:
    explicit Transaction(Connection& connection);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    void rollback();
    // The COMMIT path is Session's (it needs the in-doubt handling); it marks the transaction
    // finished before sending COMMIT so the destructor does not interfere.
    void mark_finished() { finished_ = true; }
    std::chrono::steady_clock::time_point started() const { return started_; }

  private:
    Connection& connection_;
    bool finished_ = false;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

// A read-only REPEATABLE READ transaction on `observer` that sees what `run`'s open transaction
// sees (pg_export_snapshot): the database as of the run's snapshot, without the run's own writes,
// which stay invisible to every other session until it commits. The observer's reads take no
// lock the run waits for, so they can run on their own backend while the run writes. Rolled back
// by finish() or, never throwing, on destruction.
class SharedSnapshot {
  public:
    SharedSnapshot(Connection& run, Connection& observer);
    ~SharedSnapshot();
    SharedSnapshot(const SharedSnapshot&) = delete;
    SharedSnapshot& operator=(const SharedSnapshot&) = delete;

    void finish();

  private:
    Connection& observer_;
    bool finished_ = false;
};

}  // namespace datafix::targetdb
