// Privacy and tampering: a canary value in the change runs end to end and is then nowhere in the
// server log, the audit trail, the list views or the raw bytes of the SQLite ledger; an audit row
// edited in the ledger file is named by `datafix audit verify`.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>

#include "runbook_steps.hpp"

namespace datafix::e2e {

namespace {

std::string ledger_bytes(const std::string& dir) {
    std::string all;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
        std::string path = dir + "/datafix.db" + suffix;
        if (std::filesystem::exists(path)) {
            all += read_file(path);
        }
    }
    return all;
}

}  // namespace

TEST(Privacy, ACanaryValueLeavesNoTrace) {
    ServerFixture s;
    Team t = make_team(s);
    std::string canary =
        "CANARY" + std::to_string(::getpid()) + "X" +
        std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
    long long n = file_request(s, t);
    prepare(s, t, n, "UPDATE app_public.app_user SET family_name = '" + canary + "' WHERE id = 3;");
    promote(s, t, n, "dev");
    promote(s, t, n, "test");
    auto st = state_of(s, t.po, n);
    ASSERT_EQ(
        s.post(t.po, req(n, "/approve-production"), {{"revision_hash", revision_hash(st)}}).status,
        200);
    promote(s, t, n, "prod");
    ASSERT_EQ(s.psql("prod", "SELECT family_name FROM app_public.app_user WHERE id = 3"),
              canary + "\n");
    // The people of the request do see it, decrypted.
    EXPECT_NE(s.get(t.sam, req(n, "/runs/1/images")).body.dump().find(canary), std::string::npos);

    EXPECT_EQ(s.server_log().find(canary), std::string::npos);
    EXPECT_EQ(s.get(t.po, "/api/audit").body.dump().find(canary), std::string::npos);
    EXPECT_EQ(s.get(t.po, "/api/requests").body.dump().find(canary), std::string::npos);
    EXPECT_EQ(s.get(t.po, req(n)).body.dump().find(canary), std::string::npos);
    EXPECT_EQ(s.get(t.po, req(n, "/runs/1")).body.dump().find(canary), std::string::npos);
    EXPECT_EQ(ledger_bytes(s.dir()).find(canary), std::string::npos);
    s.stop();  // checkpoints the WAL
    EXPECT_EQ(ledger_bytes(s.dir()).find(canary), std::string::npos);
    EXPECT_EQ(read_file(s.dir() + "/server.err").find(canary), std::string::npos);
}

TEST(Tampering, AnEditedAuditRowIsNamed) {
    ServerFixture s;
    Team t = make_team(s);
    long long n = file_request(s, t);
    prepare(s, t, n);
    auto intact = s.cli(s.admin_token(), {"audit", "verify"});
    ASSERT_EQ(intact.status, 0) << intact.out;

    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((s.dir() + "/datafix.db").c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    int rc = sqlite3_exec(db,
                          "DROP TRIGGER IF EXISTS audit_no_update;"
                          "UPDATE audit SET detail = 'counts=99' WHERE seq = 5;",
                          nullptr, nullptr, &error);
    EXPECT_EQ(rc, SQLITE_OK) << (error ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);

    auto broken = s.cli(s.admin_token(), {"audit", "verify"});
    EXPECT_EQ(broken.status, 8) << broken.out << broken.err;
    EXPECT_NE(broken.out.find("entry 5"), std::string::npos) << broken.out;
    auto json = s.cli(s.admin_token(), {"audit", "verify", "--output", "json"});
    EXPECT_EQ(nlohmann::json::parse(json.out)["seq"], 5);
}

}  // namespace datafix::e2e
