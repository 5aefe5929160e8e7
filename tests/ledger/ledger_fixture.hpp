// A ledger in a fresh place, with fabricated people, for the ledger tests: the same suites run on
// SQLite (a file in a fresh temporary directory) and on PostgreSQL (a fresh database on the one
// throwaway cluster of the test process, pg_ledger_fixture.hpp).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>

#include "core/crypto.hpp"
#include "ledger/ledger.hpp"
#include "pg_ledger_fixture.hpp"
#include "raw_sqlite.hpp"

namespace datafix::ledger::testing {

inline std::filesystem::path fresh_dir(const std::string& name) {
    std::random_device rd;
    auto dir = std::filesystem::temp_directory_path() /
               ("datafix-ledger-" + name + "-" + std::to_string(rd()));
    std::filesystem::create_directories(dir);
    return dir;
}

inline std::string read_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline Time at(std::int64_t seconds) {
    return from_millis(1'700'000'000'000 + seconds * 1000);
}

inline AuditEvent by(UserId actor, Time when = at(0)) {
    AuditEvent e;
    e.at = when;
    e.actor = actor;
    return e;
}

enum class Backend { sqlite, postgresql };

// "Sqlite" / "Postgresql" in the test names: LedgerTest/StateRoundTrips/Postgresql.
inline std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
    return info.param == Backend::sqlite ? "Sqlite" : "Postgresql";
}

// The fixture of every ledger suite. Tests that read the SQLite file itself use SqliteLedgerTest;
// the others are TEST_P on LedgerTest (or a fixture derived from it) and run on both backends.
class LedgerFixture : public ::testing::Test {
  protected:
    virtual Backend backend() const = 0;

    void SetUp() override {
        dir = fresh_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
        key = std::make_unique<Key>(Key::generate());
        if (backend() == Backend::sqlite) {
            db_path = (dir / "ledger.db").string();
            url = db_path;
        } else {
            url = fresh_ledger_url();
        }
        ledger = Ledger::open(url, *key);
        po = ledger->create_user({"Olivia PO", "olivia@example.com", Role::product_owner}, by(0));
        dev = ledger->create_user({"Dana Dev", "dana@example.com", Role::developer}, by(0));
    }
    void TearDown() override {
        ledger.reset();
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
    }

    RequestState new_request(const std::string& title = "fix an intake name") {
        ChangeRequest r;
        r.title = title;
        r.reason = "asked by email";
        r.requested_by = po.person.id;
        r.requested_date = "2024-05-01";
        r.ticket = "https://tickets.example.com/1";
        r.created_by = po.person.id;
        r.created_at = at(0);
        AuditEvent e = by(po.person.id);
        e.action = "request.created";
        return ledger->create_request(r, e);
    }

    // Another ledger object on the same store (a second server, or this one restarted).
    std::unique_ptr<Ledger> open_ledger(const Key& sealing, const AuditKeying* audit = nullptr) {
        return Ledger::open(url, sealing, audit);
    }

    // SQL run directly on the store, as an operator or an attacker with write access would;
    // returns the error message, or "" on success.
    std::string raw_exec(const std::string& sql) {
        if (backend() == Backend::sqlite) {
            RawSqlite raw(db_path);
            return raw.exec(sql);
        }
        try {
            ledger_cluster().psql(sql, database_of(url));
            return "";
        } catch (const std::runtime_error& e) {
            return e.what();
        }
    }

    // The first column of the first row, as text ("" when none).
    std::string raw_scalar(const std::string& sql) {
        if (backend() == Backend::sqlite) {
            RawSqlite raw(db_path);
            return raw.scalar(sql);
        }
        std::string out = ledger_cluster().psql(sql, database_of(url));
        const auto newline = out.find('\n');
        return newline == std::string::npos ? out : out.substr(0, newline);
    }

    // What an attacker drops first: the append-only guards of the audit table.
    std::string drop_audit_guards() {
        return raw_exec(backend() == Backend::sqlite
                            ? "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;"
                            : "ALTER TABLE audit DISABLE TRIGGER audit_no_change;");
    }

    // Everything the store holds. SQLite: every byte of the file, its WAL and shared memory.
    // PostgreSQL: every row of every ledger table as text, binary columns with their printable
    // bytes as they are (encode(..., 'escape')), so text stored in clear in a bytea shows.
    std::string stored_bytes() {
        if (backend() == Backend::sqlite) {
            std::string bytes;
            for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
                std::filesystem::path p = db_path + suffix;
                if (std::filesystem::exists(p)) {
                    bytes += read_bytes(p);
                }
            }
            return bytes;
        }
        return ledger_cluster().psql(
            "SELECT string_agg(query_to_xml(format('SELECT %s FROM %I.%I', cols, table_schema, "
            "table_name), true, false, '')::text, E'\\n') FROM (SELECT table_schema, table_name, "
            "string_agg(CASE WHEN data_type = 'bytea' THEN format('encode(%I, ''escape'') AS %I', "
            "column_name, column_name) ELSE format('%I', column_name) END, ', ') AS cols FROM "
            "information_schema.columns WHERE table_schema NOT IN ('pg_catalog', "
            "'information_schema') GROUP BY table_schema, table_name) t",
            database_of(url));
    }

    std::filesystem::path dir;
    std::string url;
    std::string db_path;  // SQLite only
    std::unique_ptr<Key> key;
    std::unique_ptr<Ledger> ledger;
    IssuedToken po;
    IssuedToken dev;
};

class LedgerTest : public LedgerFixture, public ::testing::WithParamInterface<Backend> {
  protected:
    Backend backend() const override { return GetParam(); }
};

class SqliteLedgerTest : public LedgerFixture {
  protected:
    Backend backend() const override { return Backend::sqlite; }

    std::string all_ledger_bytes() { return stored_bytes(); }
};

// Runs the TEST_Ps of `fixture` on both backends.
#define DATAFIX_ON_EVERY_BACKEND(fixture)                                                        \
    INSTANTIATE_TEST_SUITE_P(Backends, fixture,                                                  \
                             ::testing::Values(::datafix::ledger::testing::Backend::sqlite,      \
                                               ::datafix::ledger::testing::Backend::postgresql), \
                             ::datafix::ledger::testing::backend_name)

}  // namespace datafix::ledger::testing
