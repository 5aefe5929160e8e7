// Backups against a real PostgreSQL 15 cluster with Debian's real pg_dump and pg_restore: a
// verified archive, a restore drill, and each bad input refused with no file left behind.
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "backup/backup.hpp"
#include "core/error.hpp"
#include "core/hash.hpp"
#include "harness/pg_cluster.hpp"
#include "harness/process.hpp"

namespace datafix::backup {
namespace {

using testing::PgCluster;

const std::string kBin = "/usr/lib/postgresql/15/bin/";

class TempDir {
  public:
    TempDir() {
        std::string t = "/tmp/datafix-backup-test-XXXXXX";
        path_ = ::mkdtemp(t.data());
    }
    ~TempDir() {
        if (mounted_) {
            ::umount(path_.c_str());
        }
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    std::vector<std::string> files() const {
        std::vector<std::string> names;
        for (const auto& e : std::filesystem::directory_iterator(path_)) {
            names.push_back(e.path().filename().string());
        }
        return names;
    }
    // A real full disk: a tmpfs of `bytes`. false when mounting is not allowed (not root).
    bool mount_tiny_tmpfs(std::size_t bytes) {
        std::string opts = "size=" + std::to_string(bytes) + ",mode=0777";
        mounted_ = ::mount("tmpfs", path_.c_str(), "tmpfs", 0, opts.c_str()) == 0;
        return mounted_;
    }

  private:
    std::string path_;
    bool mounted_ = false;
};

std::string write_script(const TempDir& dir, const std::string& name, const std::string& body) {
    const std::string path = dir.path() + "/" + name;
    std::ofstream(path) << "#!/bin/sh\n" << body;
    ::chmod(path.c_str(), 0755);
    return path;
}

class BackupTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        cluster_ = testing::create_backup_cluster("backup", 300).release();
    }
    static void TearDownTestSuite() {
        delete cluster_;
        cluster_ = nullptr;
    }

    BackupSettings pg_dump_settings(const std::string& dir, const std::string& db = "app") const {
        BackupSettings s;
        s.environment = "prod";
        s.method = Method::pg_dump;
        s.pg_dump.conninfo = cluster_->conninfo(db, "datafix_backup");
        s.pg_dump.role = "datafix_backup";
        s.pg_dump.directory = dir;
        return s;
    }

    static BackupRequest written_tables() {
        return {42, {{"app_public", "application"}, {"app_public", "app_user"}}};
    }

    static PgCluster* cluster_;
};

PgCluster* BackupTest::cluster_ = nullptr;

Time fixed_time() {
    return Time{std::chrono::milliseconds{1735732800123}};  // 2025-01-01T12:00:00.123Z
}

TEST(ArchiveName, CarriesRequestEnvironmentAndInstant) {
    EXPECT_EQ(archive_file_name(42, "prod", fixed_time()),
              "request-42-prod-20250101T120000123Z.dump");
    EXPECT_EQ(archive_file_name(7, "../x y", fixed_time()),
              "request-7-___x_y-20250101T120000123Z.dump");
}

TEST(MethodName, RoundTrips) {
    EXPECT_EQ(parse_method(method_name(Method::pg_dump)), Method::pg_dump);
    EXPECT_EQ(parse_method(method_name(Method::command)), Method::command);
    EXPECT_FALSE(parse_method("rsync").has_value());
}

TEST_F(BackupTest, TakesAVerifiedCustomFormatArchiveOfTheWrittenTables) {
    TempDir dir;
    std::vector<Progress> progress;
    BackupControl control;
    control.on_progress = [&](const Progress& p) { progress.push_back(p); };
    control.progress_interval = std::chrono::milliseconds(1);
    control.clock = fixed_time;
    BackupResult r = take_backup(pg_dump_settings(dir.path()), written_tables(), control);

    EXPECT_TRUE(r.verified);
    EXPECT_EQ(r.environment, "prod");
    EXPECT_EQ(r.method, Method::pg_dump);
    EXPECT_EQ(r.taken_at, fixed_time());
    EXPECT_EQ(r.location, dir.path() + "/request-42-prod-20250101T120000123Z.dump");
    EXPECT_EQ(dir.files(), std::vector<std::string>{"request-42-prod-20250101T120000123Z.dump"});
    EXPECT_EQ(r.server_version.substr(0, 2), "15");

    struct stat st {};
    ASSERT_EQ(::stat(r.location.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(r.size_bytes, st.st_size);
    std::ifstream in(r.location, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    EXPECT_EQ(r.sha256, sha256_hex(bytes.str()));
    EXPECT_EQ(bytes.str().substr(0, 5), "PGDMP");  // the custom format's magic

    // Exactly the written tables, nothing else.
    ASSERT_EQ(r.archived_tables.size(), 2u);
    EXPECT_EQ(list_archive_tables(kBin + "pg_restore", r.location).size(), 2u);

    ASSERT_FALSE(progress.empty());
    EXPECT_EQ(progress.back().bytes_written, static_cast<std::uint64_t>(r.size_bytes));
}

TEST_F(BackupTest, RunsPgDumpAsTheConfiguredOsUser) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "switching OS user needs root";
    }
    TempDir dir;
    const passwd* pw = ::getpwnam(PgCluster::os_user().c_str());
    ASSERT_NE(pw, nullptr);
    ASSERT_EQ(::chown(dir.path().c_str(), pw->pw_uid, pw->pw_gid), 0);
    BackupSettings s = pg_dump_settings(dir.path());
    s.os_user = PgCluster::os_user();
    BackupResult r = take_backup(s, written_tables());
    struct stat st {};
    ASSERT_EQ(::stat(r.location.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, pw->pw_uid);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(BackupTest, WholeDatabaseCoversTheWrittenTablesToo) {
    TempDir dir;
    BackupSettings s = pg_dump_settings(dir.path());
    s.pg_dump.whole_database = true;
    BackupResult r = take_backup(s, written_tables());
    EXPECT_TRUE(r.verified);
    EXPECT_GE(r.archived_tables.size(), 6u);
}

// Change rows, restore the archive into a scratch database with the real pg_restore, and find
// the rows as they were before the change.
TEST_F(BackupTest, RestoreDrillBringsBackTheRowsAsTheyWere) {
    const std::string db = "drill_source";
    cluster_->create_database(db);
    const std::string rows_sql =
        "SELECT id, application_number, owner, form_data::text, intake_id, archived_at "
        "FROM app_public.application ORDER BY id";
    const std::string before = cluster_->psql(rows_sql, db);
    ASSERT_GT(before.size(), 1000u);

    TempDir dir;
    BackupResult r =
        take_backup(pg_dump_settings(dir.path(), db), {43, {{"app_public", "application"}}});
    ASSERT_TRUE(r.verified);

    cluster_->psql(
        "UPDATE app_public.application SET form_data = '{\"canary\": \"drill@example.com\"}' "
        "WHERE id % 3 = 0; DELETE FROM app_public.application_status; "
        "DELETE FROM app_public.application WHERE id % 7 = 0",
        db);
    ASSERT_NE(cluster_->psql(rows_sql, db), before);

    // The scratch database has the schema (a copy of the changed database, emptied), and gets
    // the archived rows back.
    const std::string scratch = "drill_scratch";
    cluster_->create_database(scratch, db);
    cluster_->psql("TRUNCATE app_public.application CASCADE", scratch);
    auto restored = testing::run_process({kBin + "pg_restore", "--data-only", "--disable-triggers",
                                          "--exit-on-error", "-h", cluster_->socket_dir(), "-p",
                                          std::to_string(cluster_->port()), "-U",
                                          PgCluster::kSuperuser, "-d", scratch, r.location});
    ASSERT_EQ(restored.status, 0) << restored.err;
    EXPECT_EQ(cluster_->psql(rows_sql, scratch), before);
}

void expect_refusal(const std::function<void()>& fn, ErrorCode code, const std::string& needle) {
    try {
        fn();
        ADD_FAILURE() << "expected a refusal mentioning \"" << needle << "\"";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), code) << e.describe();
        EXPECT_NE(e.message().find(needle), std::string::npos) << e.describe();
        EXPECT_FALSE(e.hint().empty()) << e.describe();
    }
}

TEST_F(BackupTest, RefusesARoleThatRowLevelSecurityFilters) {
    TempDir dir;
    BackupSettings s = pg_dump_settings(dir.path());
    s.pg_dump.conninfo = cluster_->conninfo("app", "datafix_login");
    s.pg_dump.role = "app_owner";  // the application's owner: FORCE ROW LEVEL SECURITY applies
    expect_refusal([&] { take_backup(s, written_tables()); }, ErrorCode::database,
                   "could not read every row");
    EXPECT_TRUE(dir.files().empty());
}

TEST_F(BackupTest, RefusesAMissingPgDump) {
    TempDir dir;
    BackupSettings s = pg_dump_settings(dir.path());
    s.pg_dump.pg_dump_path = "/nonexistent/bin/pg_dump";
    expect_refusal([&] { take_backup(s, written_tables()); }, ErrorCode::config,
                   "pg_dump for PostgreSQL 15");
    EXPECT_TRUE(dir.files().empty());

    BackupSettings wrong_root = pg_dump_settings(dir.path());
    wrong_root.pg_dump.bin_root = dir.path() + "/no-postgresql";
    expect_refusal([&] { take_backup(wrong_root, written_tables()); }, ErrorCode::config,
                   "not found at " + dir.path() + "/no-postgresql/15/bin/pg_dump");
    EXPECT_TRUE(dir.files().empty());
}

TEST_F(BackupTest, RefusesAPgDumpOfAnotherMajorVersion) {
    TempDir bin;
    // A pg_dump 14 (Debian's layout, another major): reports its version like the real one.
    std::filesystem::create_directories(bin.path() + "/root/14/bin");
    const std::string fake = write_script(bin, "root/14/bin/pg_dump",
                                          "echo 'pg_dump (PostgreSQL) 14.11 (Debian 14.11-1)'\n");
    TempDir dir;
    BackupSettings s = pg_dump_settings(dir.path());
    s.pg_dump.pg_dump_path = fake;
    expect_refusal([&] { take_backup(s, written_tables()); }, ErrorCode::config,
                   "is version 14 but prod runs PostgreSQL 15");
    EXPECT_TRUE(dir.files().empty());

    // Something that is not a PostgreSQL client at all.
    s.pg_dump.pg_dump_path = "/bin/true";
    expect_refusal([&] { take_backup(s, written_tables()); }, ErrorCode::config,
                   "not a working PostgreSQL client");
    EXPECT_TRUE(dir.files().empty());
}

TEST_F(BackupTest, RefusesWhenTheDiskIsFull) {
    TempDir plain;
    const auto size = take_backup(pg_dump_settings(plain.path()), written_tables()).size_bytes;
    ASSERT_GT(size, 3 * 4096);
    TempDir dir;
    if (!dir.mount_tiny_tmpfs(static_cast<std::size_t>(size / 2))) {
        GTEST_SKIP() << "mounting a small tmpfs needs root";
    }
    expect_refusal([&] { take_backup(pg_dump_settings(dir.path()), written_tables()); },
                   ErrorCode::database, "ran out of disk space");
    EXPECT_TRUE(dir.files().empty());
}

TEST_F(BackupTest, RefusesAnArchiveAboveTheSizeLimit) {
    TempDir dir;
    BackupSettings s = pg_dump_settings(dir.path());
    s.max_bytes = 4096;
    expect_refusal([&] { take_backup(s, written_tables()); }, ErrorCode::database,
                   "ran out of disk space");
    EXPECT_TRUE(dir.files().empty());
}

TEST_F(BackupTest, RefusesADirectoryTheOsUserCannotWrite) {
    TempDir dir;
    BackupSettings s = pg_dump_settings(dir.path());
    if (::geteuid() == 0) {
        // Root ignores permissions, so the check is made for the OS user the dump runs as.
        ::chmod(dir.path().c_str(), 0755);
        s.os_user = PgCluster::os_user();
    } else {
        ::chmod(dir.path().c_str(), 0555);
    }
    expect_refusal([&] { take_backup(s, written_tables()); }, ErrorCode::config, "not writable");
    ::chmod(dir.path().c_str(), 0700);
    EXPECT_TRUE(dir.files().empty());

    s.pg_dump.directory = dir.path() + "/missing";
    expect_refusal([&] { take_backup(s, written_tables()); }, ErrorCode::config, "does not exist");
}

TEST_F(BackupTest, RefusesATableThatIsNotThere) {
    TempDir dir;
    expect_refusal(
        [&] {
            take_backup(pg_dump_settings(dir.path()),
                        {44, {{"app_public", "application"}, {"app_public", "no_such_table"}}});
        },
        ErrorCode::database, "no matching tables");
    EXPECT_TRUE(dir.files().empty());
}

TEST_F(BackupTest, RefusesAnUnreachableServer) {
    TempDir dir;
    BackupSettings s = pg_dump_settings(dir.path());
    s.pg_dump.conninfo = "host=" + dir.path() + " port=1 dbname=app user=datafix_login";
    expect_refusal([&] { take_backup(s, written_tables()); }, ErrorCode::unreachable,
                   "cannot connect to prod");
}

// pg_dump's argv is readable by every local user, so a password never goes there: the key=value
// and the URI form are both refused before anything connects, and the message does not quote it.
TEST_F(BackupTest, RefusesAConninfoWithAPasswordAndNeverQuotesIt) {
    TempDir dir;
    const std::string secret = "fabricated-s3cret";
    for (const std::string& conninfo :
         {cluster_->conninfo("app", "datafix_backup") + " password=" + secret,
          "postgresql://datafix_backup:" + secret + "@localhost/app"}) {
        BackupSettings s = pg_dump_settings(dir.path());
        s.pg_dump.conninfo = conninfo;
        try {
            take_backup(s, written_tables());
            ADD_FAILURE() << "a conninfo with a password was accepted";
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::config);
            EXPECT_NE(e.message().find("holds a password"), std::string::npos) << e.message();
            EXPECT_EQ(e.message().find(secret), std::string::npos) << e.message();
            EXPECT_NE(e.hint().find("passfile"), std::string::npos) << e.hint();
        }
        EXPECT_TRUE(dir.files().empty());
    }
}

BackupSettings command_settings(const std::string& dir, std::vector<std::string> argv) {
    BackupSettings s;
    s.environment = "prod";
    s.method = Method::command;
    s.command.argv = std::move(argv);
    s.command.directory = dir;
    return s;
}

TEST_F(BackupTest, RecordsACommandThatStartsAnExternalBackup) {
    TempDir dir;
    BackupSettings s =
        command_settings(dir.path(), {"/bin/sh", "-c",
                                      "echo starting backup for request $0 in $1 of $2; "
                                      "echo 20250101-120000F",
                                      "{request}", "{environment}", "{tables}"});
    BackupResult r = take_backup(s, written_tables());
    EXPECT_TRUE(r.verified);
    EXPECT_EQ(r.exit_status, 0);
    EXPECT_EQ(r.location, "20250101-120000F");
    EXPECT_NE(r.output.find("request 42 in prod of app_public.application,app_public.app_user"),
              std::string::npos)
        << r.output;
    EXPECT_EQ(r.sha256, sha256_hex(r.output));
    EXPECT_TRUE(dir.files().empty());
}

TEST_F(BackupTest, VerifiesTheArchiveACommandWrites) {
    TempDir dir;
    BackupSettings s = command_settings(
        dir.path(), {kBin + "pg_dump", "--format=custom", "--file={output}",
                     "--dbname=" + cluster_->conninfo("app", "datafix_backup"),
                     "--table=app_public.application", "--table=app_public.app_user"});
    s.command.writes_archive = true;
    BackupResult r = take_backup(s, written_tables());
    EXPECT_TRUE(r.verified);
    EXPECT_EQ(r.archived_tables.size(), 2u);
    EXPECT_EQ(dir.files().size(), 1u);
    EXPECT_GT(r.size_bytes, 0);

    // An archive without one of the written tables is not a backup of this change.
    TempDir other;
    BackupSettings partial = s;
    partial.command.directory = other.path();
    partial.command.argv.pop_back();
    expect_refusal([&] { take_backup(partial, written_tables()); }, ErrorCode::database,
                   "has no data for app_public.app_user");
    EXPECT_TRUE(other.files().empty());
}

TEST_F(BackupTest, RefusesACommandThatFails) {
    TempDir dir;
    BackupSettings s = command_settings(
        dir.path(), {"/bin/sh", "-c", "echo partial > \"$0\"; echo 'stanza not found' >&2; exit 3",
                     "{output}"});
    s.command.writes_archive = true;
    expect_refusal([&] { take_backup(s, written_tables()); }, ErrorCode::database,
                   "failed with exit status 3: stanza not found");
    EXPECT_TRUE(dir.files().empty());

    // Exit 0 but what it wrote is no archive.
    s.command.argv = {"/bin/sh", "-c", "echo not-an-archive > \"$0\"", "{output}"};
    expect_refusal([&] { take_backup(s, written_tables()); }, ErrorCode::database,
                   "exited 0 but pg_restore cannot read");
    EXPECT_TRUE(dir.files().empty());
}

TEST_F(BackupTest, RefusesABadCommandConfiguration) {
    TempDir dir;
    expect_refusal(
        [&] {
            take_backup(command_settings(dir.path(), {"/bin/echo", "{nope}"}), {});
        },
        ErrorCode::config, "unknown placeholder {nope}");
    expect_refusal([&] { take_backup(command_settings(dir.path(), {"backup-now"}), {}); },
                   ErrorCode::config, "absolute program path");
    expect_refusal(
        [&] { take_backup(command_settings(dir.path(), {dir.path() + "/missing"}), {}); },
        ErrorCode::config, "cannot start the backup command");
}

TEST_F(BackupTest, CancelsCleanlyAndRemovesThePartialFile) {
    TempDir dir;
    BackupSettings s = command_settings(
        dir.path(),
        {"/bin/sh", "-c", "while true; do head -c 4096 /dev/zero >> \"$0\"; sleep 0.02; done",
         "{output}"});
    s.command.writes_archive = true;
    std::atomic<bool> cancel{false};
    std::uint64_t seen = 0;
    BackupControl control;
    control.cancel = &cancel;
    control.progress_interval = std::chrono::milliseconds(10);
    control.on_progress = [&](const Progress& p) {
        seen = p.bytes_written;
        if (p.bytes_written >= 16 * 1024) {
            cancel = true;
        }
    };
    const auto started = std::chrono::steady_clock::now();
    expect_refusal([&] { take_backup(s, written_tables(), control); }, ErrorCode::rule,
                   "was cancelled");
    EXPECT_GE(seen, 16u * 1024);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
    EXPECT_TRUE(dir.files().empty());
}

TEST_F(BackupTest, StopsACommandThatRunsTooLong) {
    TempDir dir;
    BackupSettings s = command_settings(dir.path(), {"/bin/sleep", "30"});
    s.command.timeout = std::chrono::milliseconds(200);
    expect_refusal([&] { take_backup(s, written_tables()); }, ErrorCode::database,
                   "did not finish in time");
}

}  // namespace
}  // namespace datafix::backup
