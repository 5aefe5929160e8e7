// Hardening through the real server: the review's scenario (the driver writes and previews,
// releases the claim, joins as the pair and approves) is refused; a done request is claimed by
// nobody; an expired token and a read-only token's step are refused; a non-member sees no
// reason, images or pre-flight; an admin who rotated the driver's and the pair's tokens cannot
// approve with them; and the keyed audit chain names an approval rewritten in the ledger file
// with the chain recomputed, and a truncated tail against the head the log published.
#include <sqlite3.h>
#include <sys/stat.h>

#include <filesystem>
#include <regex>

#include "../ledger/audit_tamper.hpp"
#include "model/audit.hpp"
#include "runbook_steps.hpp"

namespace datafix::e2e {

namespace {

// SQL on the server's SQLite ledger, as someone with write access to the file.
void ledger_sql(ServerFixture& s, const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((s.dir() + "/datafix.db").c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char* error = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    EXPECT_EQ(rc, SQLITE_OK) << (error ? error : "") << "\n" << sql;
    sqlite3_free(error);
    sqlite3_close(db);
}

// The last "audit head SEQ:MAC" line of the server log.
std::string last_logged_head(ServerFixture& s) {
    std::regex line("audit head ([0-9]+:[0-9a-f]{64})");
    std::string log = s.server_log();
    std::string head;
    for (auto it = std::sregex_iterator(log.begin(), log.end(), line); it != std::sregex_iterator();
         ++it) {
        head = (*it)[1];
    }
    return head;
}

// Reads the chain straight from the file (as the attacker does).
std::vector<model::AuditEntry> raw_entries(ServerFixture& s) {
    std::vector<model::AuditEntry> entries;
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open((s.dir() + "/datafix.db").c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db,
                       "SELECT seq, at, actor, action, request, environment, statement_hash, "
                       "evidence_fingerprint, detail, prev_hash, hash FROM audit ORDER BY seq",
                       -1, &st, nullptr);
    auto text = [st](int i) {
        const unsigned char* t = sqlite3_column_text(st, i);
        return t ? std::string(reinterpret_cast<const char*>(t)) : std::string();
    };
    while (sqlite3_step(st) == SQLITE_ROW) {
        model::AuditEntry e;
        e.seq = sqlite3_column_int64(st, 0);
        e.event.at = model::from_millis(sqlite3_column_int64(st, 1));
        e.event.actor = sqlite3_column_int64(st, 2);
        e.event.action = text(3);
        if (sqlite3_column_type(st, 4) != SQLITE_NULL) {
            e.event.request = sqlite3_column_int64(st, 4);
        }
        e.event.environment = text(5);
        e.event.statement_hash = text(6);
        e.event.evidence_fingerprint = text(7);
        e.event.detail = text(8);
        e.prev_hash = text(9);
        e.hash = text(10);
        entries.push_back(e);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return entries;
}

long long user_id(ServerFixture& s, const std::string& token) {
    return s.get(token, "/api/me").body["id"];
}

}  // namespace

TEST(Hardening, FormerDriverWhoJoinedAsPairCannotApprove) {
    ServerFixture s;
    Team t = make_team(s);
    std::string omar = s.add_person("Omar Other", "omar@example.com", "developer");
    long long n = file_request(s, t);
    ASSERT_EQ(s.post(t.dana, req(n, "/claim"), {}).status, 200);
    Answer rev = s.post(t.dana, req(n, "/revisions"),
                        {{"change_sql", kChange}, {"verify_sql", kVerify}, {"expected", {1}}});
    ASSERT_EQ(rev.status, 200) << rev.body.dump();
    Answer p = s.post(t.dana, env_path(n, "dev", "preview"), {});
    ASSERT_EQ(p.status, 200) << p.body.dump();
    ASSERT_EQ(s.post(t.dana, req(n, "/release"), {}).status, 200);
    Answer joined = s.post(t.dana, req(n, "/pair"), {});
    ASSERT_EQ(joined.status, 200) << joined.body.dump();
    ASSERT_EQ(s.post(omar, req(n, "/claim"), {}).status, 200);

    nlohmann::json st = state_of(s, t.dana, n);
    Answer a =
        s.post(t.dana, env_path(n, "dev", "approve"),
               {{"revision_hash", revision_hash(st)}, {"fingerprint", fingerprint(st, "dev")}});
    expect_refused(s, t.dana, n, a, 409);
    EXPECT_EQ(a.body["rule"], "four-eyes-history") << a.body.dump();
    EXPECT_NE(a.body["message"].get<std::string>().find("you drove it"), std::string::npos);
    EXPECT_FALSE(a.body["hint"].get<std::string>().empty());
    EXPECT_EQ(state_of(s, t.dana, n)["version"], st["version"]);
    // Apply finds no approval: the driver cannot approve their own change by changing seats.
    Answer apply =
        s.post(omar, env_path(n, "dev", "apply"), {{"fingerprint", fingerprint(st, "dev")}});
    EXPECT_NE(apply.status, 200) << apply.body.dump();
    // The CLI says the same, with its HINT.
    auto cli = s.cli(t.dana, {"approve", std::to_string(n), "dev"});
    EXPECT_NE(cli.status, 0);
    EXPECT_NE((cli.out + cli.err).find("HINT"), std::string::npos) << cli.out << cli.err;
}

TEST(Hardening, NobodyClaimsADoneRequest) {
    ServerFixture s;
    Team t = make_team(s);
    std::string omar = s.add_person("Omar Other", "omar@example.com", "developer");
    long long n = file_request(s, t);
    prepare(s, t, n);
    promote(s, t, n, "dev");
    promote(s, t, n, "test");
    nlohmann::json st = state_of(s, t.po, n);
    ASSERT_EQ(
        s.post(t.po, req(n, "/approve-production"), {{"revision_hash", revision_hash(st)}}).status,
        200);
    promote(s, t, n, "prod");
    ASSERT_EQ(state_of(s, t.po, n)["status"], "done");
    for (const std::string& who : {t.dana, omar}) {
        Answer a = s.post(who, req(n, "/claim"), {});
        expect_refused(s, who, n, a, 409);
        EXPECT_EQ(a.body["rule"], "request-closed") << a.body.dump();
        EXPECT_NE(a.body["message"].get<std::string>().find("only open requests can be claimed"),
                  std::string::npos);
    }
}

TEST(Hardening, ExpiredAndReadOnlyTokensRefused) {
    ServerFixture s;
    Team t = make_team(s);
    long long n = file_request(s, t);
    ASSERT_EQ(s.get(t.dana, "/api/me").status, 200);
    ledger_sql(s, "UPDATE users SET token_expires_at = 1000 WHERE email = 'dana@example.com'");
    Answer expired = s.get(t.dana, "/api/me");
    EXPECT_EQ(expired.status, 401) << expired.body.dump();
    EXPECT_EQ(expired.body["rule"], "token-expired");
    EXPECT_NE(expired.body["hint"].get<std::string>().find("rotate-token"), std::string::npos);
    EXPECT_EQ(s.post(t.dana, req(n, "/claim"), {}).status, 401);

    Answer issued = s.post(s.admin_token(), "/api/users",
                           {{"name", "Rita Reader"},
                            {"email", "rita@example.com"},
                            {"role", "developer"},
                            {"scope", "read"},
                            {"days", 7}});
    ASSERT_EQ(issued.status, 201) << issued.body.dump();
    EXPECT_EQ(issued.body["user"]["token_scope"], "read");
    std::string rita = issued.body["token"];
    EXPECT_EQ(s.get(rita, "/api/requests").status, 200);
    Answer step = s.post(rita, req(n, "/claim"), {});
    EXPECT_EQ(step.status, 403) << step.body.dump();
    EXPECT_EQ(step.body["rule"], "token-read-only");
    EXPECT_FALSE(state_of(s, t.po, n)["claim"].is_object());
    // The CLI issues a scoped token too.
    auto cli = s.cli(s.admin_token(),
                     {"users", "add", "--name", "Rob Reader", "--email", "rob@example.com",
                      "--role", "developer", "--scope", "read", "--days", "3", "--output", "json"});
    ASSERT_EQ(cli.status, 0) << cli.out << cli.err;
    EXPECT_EQ(nlohmann::json::parse(cli.out)["user"]["token_scope"], "read");
    auto list = s.cli(s.admin_token(), {"users", "list"});
    ASSERT_EQ(list.status, 0) << list.err;
    EXPECT_NE(list.out.find("EXPIRES"), std::string::npos) << list.out;
    EXPECT_NE(list.out.find("read"), std::string::npos) << list.out;
}

TEST(Hardening, ReasonImagesAndPreflightOnlyForTheRequestsPeople) {
    ServerFixture s;
    Team t = make_team(s);
    std::string omar = s.add_person("Omar Other", "omar@example.com", "developer");
    const std::string canary = "reason-canary-7f3a";
    Answer filed = s.post(t.po, "/api/requests",
                          {{"title", "Correct a name"},
                           {"reason", "asked by " + canary},
                           {"requested_date", "2026-12-01"},
                           {"ticket", "https://tickets.example.com/DF-9"}});
    ASSERT_EQ(filed.status, 201);
    long long n = filed.body["number"];
    prepare(s, t, n);
    ASSERT_EQ(s.post(t.dana, env_path(n, "dev", "preview"), {}).status, 200);

    Answer other = s.get(omar, req(n));
    ASSERT_EQ(other.status, 200);
    EXPECT_EQ(other.body.dump().find(canary), std::string::npos);
    EXPECT_TRUE(other.body["reason"].is_null());
    EXPECT_TRUE(other.body.contains("reason_private"));
    Answer admin = s.get(s.admin_token(), req(n));
    EXPECT_EQ(admin.body.dump().find(canary), std::string::npos);
    for (const std::string& who : {t.po, t.dana, t.sam}) {
        EXPECT_NE(s.get(who, req(n)).body.dump().find(canary), std::string::npos);
    }
    Answer images = s.get(omar, req(n, "/runs/1/images"));
    EXPECT_EQ(images.status, 403) << images.body.dump();
    EXPECT_EQ(images.body["rule"], "images-private");
    EXPECT_FALSE(images.body["hint"].get<std::string>().empty());
    EXPECT_EQ(s.get(s.admin_token(), req(n, "/runs/1/images")).status, 403);
    Answer preflight = s.get(omar, env_path(n, "dev", "preflight"));
    EXPECT_EQ(preflight.status, 403) << preflight.body.dump();
    EXPECT_EQ(preflight.body["rule"], "preflight-private");
    EXPECT_EQ(s.get(t.sam, req(n, "/runs/1/images")).status, 200);
}

TEST(Hardening, AnAdminWithRotatedTokensCannotFillBothSides) {
    ServerFixture s;
    Team t = make_team(s);
    long long n = file_request(s, t);
    const long long dana_id = user_id(s, t.dana);
    const long long sam_id = user_id(s, t.sam);
    auto rotate = [&s](long long id) {
        Answer a =
            s.post(s.admin_token(), "/api/users/" + std::to_string(id) + "/rotate-token", {});
        EXPECT_EQ(a.status, 200) << a.body.dump();
        return a.body["token"].get<std::string>();
    };
    // The admin takes over both developers' accounts.
    std::string as_dana = rotate(dana_id);
    std::string as_sam = rotate(sam_id);
    EXPECT_EQ(s.get(t.dana, "/api/me").status, 401);  // the owner's old token stops at once
    Team admin_team{t.po, as_dana, as_sam};
    prepare(s, admin_team, n);
    ASSERT_EQ(s.post(as_dana, env_path(n, "dev", "preview"), {}).status, 200);
    nlohmann::json st = state_of(s, as_sam, n);
    Answer a =
        s.post(as_sam, env_path(n, "dev", "approve"),
               {{"revision_hash", revision_hash(st)}, {"fingerprint", fingerprint(st, "dev")}});
    expect_refused(s, as_sam, n, a, 409);
    EXPECT_EQ(a.body["rule"], "four-eyes-token-issuer") << a.body.dump();
    // Both rotations are in the audit trail, by the admin.
    int rotations = 0;
    const Answer audit = s.get(s.admin_token(), "/api/audit");
    for (const auto& e : audit.body["entries"]) {
        if (e["action"] == "user.token_rotated") {
            ++rotations;
            EXPECT_NE(e["detail"].get<std::string>().find("issued_by="), std::string::npos);
        }
    }
    EXPECT_EQ(rotations, 2);
    // Sam's own new token (rotated by another admin) approves.
    std::string admin2 = s.add_person("Bea Admin", "bea@example.com", "admin");
    Answer fresh = s.post(admin2, "/api/users/" + std::to_string(sam_id) + "/rotate-token", {});
    ASSERT_EQ(fresh.status, 200);
    Answer ok =
        s.post(fresh.body["token"].get<std::string>(), env_path(n, "dev", "approve"),
               {{"revision_hash", revision_hash(st)}, {"fingerprint", fingerprint(st, "dev")}});
    EXPECT_EQ(ok.status, 200) << ok.body.dump();
}

TEST(Hardening, KeyedAuditNamesARewrittenApprovalAndATruncatedTail) {
    ServerFixture s;
    Team t = make_team(s);
    long long n = file_request(s, t);
    prepare(s, t, n);
    promote(s, t, n, "dev");
    // The audit key lives next to the sealing key, outside the ledger, 0600.
    struct stat st {};
    ASSERT_EQ(::stat((s.dir() + "/datafix-audit.key").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    const std::string head = last_logged_head(s);
    ASSERT_FALSE(head.empty()) << s.server_log();
    auto intact = s.cli(s.admin_token(), {"audit", "verify", "--head", head});
    ASSERT_EQ(intact.status, 0) << intact.out << intact.err;
    EXPECT_NE(intact.out.find("found"), std::string::npos) << intact.out;

    // Someone with write access to the ledger makes the product owner the approver and
    // recomputes every later link with the unkeyed hash, as the old chain allowed.
    auto entries = raw_entries(s);
    std::int64_t approval = 0;
    for (auto& e : entries) {
        if (e.event.action == "evidence.approved") {
            approval = e.seq;
            e.event.actor = user_id(s, t.po);
        }
    }
    ASSERT_GT(approval, 0);
    ledger_sql(s,
               "DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete;\n" +
                   ledger::testing::rechain_unkeyed_sql(entries, approval));
    auto broken = s.cli(s.admin_token(), {"audit", "verify"});
    EXPECT_EQ(broken.status, 8) << broken.out << broken.err;
    EXPECT_NE(broken.out.find("entry " + std::to_string(approval)), std::string::npos)
        << broken.out;
    auto json = s.cli(s.admin_token(), {"audit", "verify", "--output", "json"});
    EXPECT_EQ(nlohmann::json::parse(json.out)["seq"], approval);

    // Truncated before the approval, with a head that matches: the chain alone looks fine,
    // the published head does not.
    const auto& keep = entries[static_cast<std::size_t>(approval - 2)];
    ledger_sql(s, "DELETE FROM audit WHERE seq >= " + std::to_string(approval) +
                      "; UPDATE audit_head SET seq = " + std::to_string(keep.seq) + ", hash = '" +
                      keep.hash + "' WHERE id = 1;");
    EXPECT_EQ(s.cli(s.admin_token(), {"audit", "verify"}).status, 0);
    auto truncated = s.cli(s.admin_token(), {"audit", "verify", "--head", head});
    EXPECT_EQ(truncated.status, 8) << truncated.out << truncated.err;
    EXPECT_NE(truncated.out.find("rewritten or truncated"), std::string::npos) << truncated.out;
}

TEST(Hardening, WithoutItsAuditKeyTheServerDoesNotStart) {
    ServerFixture s;
    const std::string key = s.dir() + "/datafix-audit.key";
    std::filesystem::rename(key, key + ".elsewhere");
    try {
        s.restart();
        FAIL() << "the server started without the audit key of its keyed chain";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("with an audit key this server lacks"),
                  std::string::npos)
            << e.what();
    }
    // The key it made for the attempt is gone again; with the right one back, all is well.
    EXPECT_FALSE(std::filesystem::exists(key));
    std::filesystem::rename(key + ".elsewhere", key);
    s.restart();
    auto verify = s.cli(s.admin_token(), {"audit", "verify"});
    EXPECT_EQ(verify.status, 0) << verify.out << verify.err;
}

}  // namespace datafix::e2e
