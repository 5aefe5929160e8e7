// A SQLite ledger in a fresh temporary directory, with fabricated people, for the ledger tests.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>

#include "core/crypto.hpp"
#include "ledger/ledger.hpp"

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

class LedgerTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir = fresh_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
        db_path = (dir / "ledger.db").string();
        key = std::make_unique<Key>(Key::generate());
        ledger = Ledger::open(db_path, *key);
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

    // Every byte the ledger has on disk: the file, its WAL and shared memory.
    std::string all_ledger_bytes() const {
        std::string bytes;
        for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
            std::filesystem::path p = db_path + suffix;
            if (std::filesystem::exists(p)) {
                bytes += read_bytes(p);
            }
        }
        return bytes;
    }

    std::filesystem::path dir;
    std::string db_path;
    std::unique_ptr<Key> key;
    std::unique_ptr<Ledger> ledger;
    IssuedToken po;
    IssuedToken dev;
};

}  // namespace datafix::ledger::testing
