// Direct access to a ledger file with SQLite itself, as an attacker or an operator would have:
// used to tamper with the audit trail and to inspect what is stored.
#pragma once

#include <sqlite3.h>

#include <stdexcept>
#include <string>

namespace datafix::ledger::testing {

// Takes a ledger back to schema version 2 (before four-eyes participants, token expiry and the
// notifications' audit head, before version 4's run leases, version 5's outbox claim owners and
// version 6's backup jobs, version 7's sign-in sessions and version 8's comments), so a test can
// watch versions 3 and later migrate it.
inline const char* kUndoVersion3 =
    "ALTER TABLE users DROP COLUMN created_by;"
    "ALTER TABLE users DROP COLUMN confirmed_by;"
    "DROP TABLE comments;"
    "DROP TABLE sessions;"
    "DROP TABLE pending_sign_ins;"
    "DROP TABLE backup_jobs;"
    "DROP INDEX notifications_claimed;"
    "ALTER TABLE notifications DROP COLUMN claimed_by;"
    "ALTER TABLE notifications DROP COLUMN claimed_incarnation;"
    "ALTER TABLE notifications DROP COLUMN claim_expires_at;"
    "DROP TABLE run_leases;"
    "DROP TABLE request_people;"
    "ALTER TABLE users DROP COLUMN token_scope;"
    "ALTER TABLE users DROP COLUMN token_expires_at;"
    "ALTER TABLE users DROP COLUMN token_issued_by;"
    "ALTER TABLE notifications DROP COLUMN audit_head;"
    "DELETE FROM schema_version WHERE version >= 3;";

class RawSqlite {
  public:
    explicit RawSqlite(const std::string& path) {
        if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
            throw std::runtime_error("cannot open " + path);
        }
        sqlite3_busy_timeout(db_, 5000);
    }
    ~RawSqlite() { sqlite3_close(db_); }
    RawSqlite(const RawSqlite&) = delete;
    RawSqlite& operator=(const RawSqlite&) = delete;

    // Runs SQL; returns the error message, or "" on success.
    std::string exec(const std::string& sql) {
        char* error = nullptr;
        if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
            std::string message = error ? error : "error";
            sqlite3_free(error);
            return message;
        }
        return "";
    }

    // The first column of the first row, as text ("" when none).
    std::string scalar(const std::string& sql) {
        sqlite3_stmt* statement = nullptr;
        if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) {
            throw std::runtime_error(sqlite3_errmsg(db_));
        }
        std::string out;
        if (sqlite3_step(statement) == SQLITE_ROW && sqlite3_column_text(statement, 0)) {
            out = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
        }
        sqlite3_finalize(statement);
        return out;
    }

  private:
    sqlite3* db_ = nullptr;
};

}  // namespace datafix::ledger::testing
