// Backups before prod through the server: prod's apply is refused until the driver takes a
// verified backup (via the API or `datafix backup`), the archive is 0600 and its SHA-256 is the
// one in the ledger, and a failing backup command leaves prod unchanged.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "core/hash.hpp"
#include "runbook_steps.hpp"

namespace datafix::e2e {

namespace {

const char* kAppUser = "SELECT family_name FROM app_public.app_user WHERE id = 3";

// A login that reads everything and bypasses row-level security (the application's table forces
// it), as the example configuration recommends. Roles are per cluster: created once.
void ensure_backup_login() {
    fixture_detail::cluster("prod").psql(
        "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'datafix_backup') THEN "
        "CREATE ROLE datafix_backup LOGIN BYPASSRLS IN ROLE pg_read_all_data; END IF; END$$",
        "postgres");
}

ServerOptions with_prod_backup(const std::string& backup_table) {
    ensure_backup_login();
    ServerOptions options;
    options.environment_extra["prod"] =
        "backup_required = true\nbackup_max_age = \"60m\"\n" + backup_table;
    return options;
}

std::string pg_dump_backup() {
    auto& prod = fixture_detail::cluster("prod");
    return "[environment.backup]\nmethod = \"pg_dump\"\ndirectory = \"{dir}/backups\"\n"
           "conninfo = \"" +
           prod.conninfo("{database}", "datafix_backup") + "\"\nrole = \"datafix_backup\"\n";
}

// dev and test applied, the product owner approved, prod previewed and approved by the pair.
std::string ready_for_prod_apply(ServerFixture& s, const Team& t, long long n) {
    prepare(s, t, n);
    promote(s, t, n, "dev");
    promote(s, t, n, "test");
    nlohmann::json st = state_of(s, t.po, n);
    EXPECT_EQ(
        s.post(t.po, req(n, "/approve-production"), {{"revision_hash", revision_hash(st)}}).status,
        200);
    EXPECT_EQ(s.post(t.dana, env_path(n, "prod", "preview"), {}).status, 200);
    st = state_of(s, t.sam, n);
    EXPECT_EQ(
        s.post(t.sam, env_path(n, "prod", "approve"),
               {{"revision_hash", revision_hash(st)}, {"fingerprint", fingerprint(st, "prod")}})
            .status,
        200);
    return fingerprint(st, "prod");
}

void expect_private_file(const std::string& path, const std::string& sha256) {
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << path;
    EXPECT_EQ(sha256_hex(read_file(path)), sha256);
}

}  // namespace

TEST(Backup, ProdApplyIsRefusedUntilTheDriverTakesAVerifiedBackupThroughTheApi) {
    ServerFixture s(with_prod_backup(pg_dump_backup()));
    std::filesystem::create_directories(s.dir() + "/backups");
    Team t = make_team(s);
    std::string before = s.psql("prod", kAppUser);
    long long n = file_request(s, t);
    std::string fp = ready_for_prod_apply(s, t, n);

    Answer refused = s.post(t.dana, env_path(n, "prod", "apply"), {{"fingerprint", fp}});
    expect_refused(s, t.dana, n, refused, 409);
    EXPECT_EQ(refused.body["rule"], "backup-required") << refused.body.dump();
    EXPECT_NE(refused.body["hint"].get<std::string>().find("datafix backup " + std::to_string(n) +
                                                           " prod"),
              std::string::npos)
        << refused.body.dump();
    EXPECT_EQ(s.psql("prod", kAppUser), before);

    // Only the driver takes it.
    EXPECT_EQ(s.post(t.sam, env_path(n, "prod", "backup"), {}).status, 409);
    Answer backup = s.post(t.dana, env_path(n, "prod", "backup"), {});
    ASSERT_EQ(backup.status, 200) << backup.body.dump();
    EXPECT_TRUE(backup.body["verified"].get<bool>());
    // The write closure: the table the change names and the audit log its trigger writes.
    EXPECT_EQ(backup.body["tables"],
              nlohmann::json::array({"app_public.app_user", "app_public.record_version"}));
    std::string location = backup.body["location"];
    expect_private_file(location, backup.body["sha256"]);

    nlohmann::json st = state_of(s, t.po, n);
    ASSERT_EQ(st["backups"].size(), 1u) << st.dump();
    EXPECT_EQ(st["backups"][0]["sha256"], backup.body["sha256"]);
    EXPECT_EQ(st["backups"][0]["size_bytes"], backup.body["size_bytes"]);
    EXPECT_EQ(st["backups"][0]["environment"], "prod");

    Answer applied = s.post(t.dana, env_path(n, "prod", "apply"), {{"fingerprint", fp}});
    ASSERT_EQ(applied.status, 200) << applied.body.dump();
    EXPECT_EQ(s.psql("prod", kAppUser), "Renamed\n");
    auto audit = s.cli(s.admin_token(), {"audit", "--request", std::to_string(n)});
    EXPECT_NE(audit.out.find(backup.body["sha256"].get<std::string>()), std::string::npos)
        << audit.out;
}

TEST(Backup, TheCliTakesTheBackupWithProgressAndTheApplyFollows) {
    ServerFixture s(with_prod_backup(pg_dump_backup()));
    std::filesystem::create_directories(s.dir() + "/backups");
    Team t = make_team(s);
    long long n = file_request(s, t);
    ready_for_prod_apply(s, t, n);
    const std::string number = std::to_string(n);

    auto refused = s.cli(t.dana, {"apply", number, "prod"});
    EXPECT_EQ(refused.status, 10) << refused.out << refused.err;
    EXPECT_NE(refused.err.find("datafix backup " + number + " prod"), std::string::npos)
        << refused.err;

    auto backup = s.cli(t.dana, {"backup", number, "prod"});
    ASSERT_EQ(backup.status, 0) << backup.out << backup.err;
    EXPECT_NE(backup.out.find("verified"), std::string::npos) << backup.out;
    auto json = s.cli(t.dana, {"show", number, "--output", "json"});
    nlohmann::json st = nlohmann::json::parse(json.out);
    ASSERT_EQ(st["backups"].size(), 1u);
    expect_private_file(st["backups"][0]["location"], st["backups"][0]["sha256"]);
    EXPECT_NE(backup.out.find(st["backups"][0]["sha256"].get<std::string>()), std::string::npos);

    auto again = s.cli(t.dana, {"backup", number, "prod", "--output", "json"});
    ASSERT_EQ(again.status, 0) << again.err;
    EXPECT_TRUE(nlohmann::json::parse(again.out)["verified"].get<bool>());

    auto applied = s.cli(t.dana, {"apply", number, "prod"});
    ASSERT_EQ(applied.status, 0) << applied.out << applied.err;
    EXPECT_EQ(s.psql("prod", kAppUser), "Renamed\n");
    auto show = s.cli(t.po, {"show", number});
    EXPECT_NE(show.out.find("BACKUP"), std::string::npos) << show.out;
}

TEST(Backup, AFailingBackupCommandIsARefusalAndProdIsNotApplied) {
    ServerFixture s(
        with_prod_backup("[environment.backup]\nmethod = \"command\"\n"
                         "directory = \"{dir}/backups\"\n"
                         "command = [\"/bin/sh\", \"-c\", \"echo no repository "
                         "for {environment} >&2; exit 3\"]\n"));
    std::filesystem::create_directories(s.dir() + "/backups");
    Team t = make_team(s);
    std::string before = s.psql("prod", kAppUser);
    long long n = file_request(s, t);
    std::string fp = ready_for_prod_apply(s, t, n);

    Answer backup = s.post(t.dana, env_path(n, "prod", "backup"), {});
    EXPECT_GE(backup.status, 400) << backup.body.dump();
    EXPECT_TRUE(backup.body.contains("hint")) << backup.body.dump();
    EXPECT_TRUE(state_of(s, t.po, n)["backups"].empty());
    Answer refused = s.post(t.dana, env_path(n, "prod", "apply"), {{"fingerprint", fp}});
    EXPECT_EQ(refused.status, 409) << refused.body.dump();
    EXPECT_EQ(refused.body["rule"], "backup-required");
    EXPECT_EQ(s.psql("prod", kAppUser), before);
    EXPECT_TRUE(std::filesystem::is_empty(s.dir() + "/backups"));
}

}  // namespace datafix::e2e
