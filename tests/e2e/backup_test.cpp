// Backups before prod through the server: prod's apply is refused until the driver takes a
// verified backup (via the API or `datafix backup`), the archive is 0600 and its SHA-256 is the
// one in the ledger, and a failing backup command leaves prod unchanged.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include "core/error.hpp"
#include "core/hash.hpp"
#include "core/process.hpp"
#include "crash_steps.hpp"

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

// The job (as GET .../backup lists it) once it is no longer running.
nlohmann::json ended_job(ServerFixture& s, const std::string& token, long long n, int job) {
    nlohmann::json found;
    EXPECT_TRUE(eventually([&] {
        Answer jobs = s.get(token, env_path(n, "prod", "backup"));
        for (const auto& j : jobs.body["jobs"]) {
            if (j["job"] == job) {
                found = j;
            }
        }
        return found.is_object() && found["state"] != "running";
    })) << "backup job "
        << job << " still running: " << found.dump();
    return found;
}

// Starts a backup job of prod (202, running) and waits for its end.
nlohmann::json take_backup(ServerFixture& s, const std::string& token, long long n) {
    Answer started = s.post(token, env_path(n, "prod", "backup"), {});
    EXPECT_EQ(started.status, 202) << started.body.dump();
    EXPECT_EQ(started.body["state"], "running") << started.body.dump();
    return ended_job(s, token, n, started.body.value("job", 0));
}

// The names in the backup directory.
std::vector<std::string> files_in(const std::string& dir) {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
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
    nlohmann::json job = take_backup(s, t.dana, n);
    ASSERT_EQ(job["state"], "succeeded") << job.dump();
    EXPECT_EQ(job["attempts"], 1);
    EXPECT_EQ(job["requested_by"]["name"], "Dana Driver") << job.dump();
    const nlohmann::json& result = job["result"];
    EXPECT_TRUE(result["verified"].get<bool>());
    // The write closure: the table the change names and the audit log its trigger writes.
    EXPECT_EQ(result["tables"],
              nlohmann::json::array({"app_public.app_user", "app_public.record_version"}));
    std::string location = result["location"];
    expect_private_file(location, result["sha256"]);

    nlohmann::json st = state_of(s, t.po, n);
    ASSERT_EQ(st["backups"].size(), 1u) << st.dump();
    EXPECT_EQ(st["backups"][0]["number"], job["backup"]);
    EXPECT_EQ(st["backups"][0]["sha256"], result["sha256"]);
    EXPECT_EQ(st["backups"][0]["size_bytes"], result["size_bytes"]);
    EXPECT_EQ(st["backups"][0]["environment"], "prod");

    Answer applied = s.post(t.dana, env_path(n, "prod", "apply"), {{"fingerprint", fp}});
    ASSERT_EQ(applied.status, 200) << applied.body.dump();
    EXPECT_EQ(s.psql("prod", kAppUser), "Renamed\n");
    auto audit = s.cli(s.admin_token(), {"audit", "--request", std::to_string(n)});
    EXPECT_NE(audit.out.find(result["sha256"].get<std::string>()), std::string::npos) << audit.out;
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
    nlohmann::json again_job = nlohmann::json::parse(again.out);
    EXPECT_EQ(again_job["state"], "succeeded") << again.out;
    EXPECT_TRUE(again_job["result"]["verified"].get<bool>()) << again.out;

    // A job started and left to the server, then followed to its end.
    auto detached = s.cli(t.dana, {"backup", number, "prod", "--detach"});
    ASSERT_EQ(detached.status, 0) << detached.out << detached.err;
    EXPECT_NE(detached.out.find("backup job 3 of prod for request #" + number + " started"),
              std::string::npos)
        << detached.out;
    auto followed = s.cli(t.dana, {"backup", number, "prod", "--follow"});
    ASSERT_EQ(followed.status, 0) << followed.out << followed.err;
    EXPECT_NE(followed.out.find("(job 3)"), std::string::npos) << followed.out;
    EXPECT_EQ(state_of(s, t.po, n)["backups"].size(), 3u);
    auto nothing = s.cli(t.dana, {"backup", number, "prod", "--cancel"});
    EXPECT_EQ(nothing.status, exit_status(ErrorCode::not_found)) << nothing.out << nothing.err;
    EXPECT_NE(nothing.err.find("no backup of prod is running"), std::string::npos) << nothing.err;

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

    nlohmann::json job = take_backup(s, t.dana, n);
    EXPECT_EQ(job["state"], "failed") << job.dump();
    EXPECT_EQ(job["failure"]["code"], "database") << job.dump();
    EXPECT_NE(job["failure"]["message"].get<std::string>().find("exit status 3"), std::string::npos)
        << job.dump();
    EXPECT_TRUE(state_of(s, t.po, n)["backups"].empty());
    // The CLI says so with the job's code as its exit status.
    auto cli = s.cli(t.dana, {"backup", std::to_string(n), "prod"});
    EXPECT_EQ(cli.status, exit_status(ErrorCode::database)) << cli.out << cli.err;
    EXPECT_NE(cli.err.find("failed"), std::string::npos) << cli.err;
    Answer refused = s.post(t.dana, env_path(n, "prod", "apply"), {{"fingerprint", fp}});
    EXPECT_EQ(refused.status, 409) << refused.body.dump();
    EXPECT_EQ(refused.body["rule"], "backup-required");
    EXPECT_EQ(s.psql("prod", kAppUser), before);
    EXPECT_TRUE(std::filesystem::is_empty(s.dir() + "/backups"));
}

// A backup command the test lets finish: it waits until the file "go" exists in the backup
// directory, then prints its reference.
std::string gated_command_backup() {
    return "[environment.backup]\nmethod = \"command\"\ndirectory = \"{dir}/backups\"\n"
           "command = [\"/bin/sh\", \"-c\", \"while [ ! -e {dir}/backups/go ]; do sleep 0.05; "
           "done; echo label-{request}-{environment}\"]\n";
}

TEST(Backup, AJobOutlivesItsCallIsRefusedTwiceCancelledAndTakenUpAgainAfterARestart) {
    ServerFixture s(with_prod_backup(gated_command_backup()));
    const std::string dir = s.dir() + "/backups";
    std::filesystem::create_directories(dir);
    Team t = make_team(s);
    long long n = file_request(s, t);
    std::string fp = ready_for_prod_apply(s, t, n);

    // The call answers at once; the job runs on in the server.
    Answer first = s.post(t.dana, env_path(n, "prod", "backup"), {});
    ASSERT_EQ(first.status, 202) << first.body.dump();
    EXPECT_EQ(first.body["job"], 1);
    EXPECT_EQ(first.body["state"], "running");
    Answer listed = s.get(t.po, env_path(n, "prod", "backup"));
    ASSERT_EQ(listed.status, 200) << listed.body.dump();
    ASSERT_EQ(listed.body["jobs"].size(), 1u);
    EXPECT_EQ(listed.body["jobs"][0]["state"], "running");
    // One job per environment at a time.
    Answer twice = s.post(t.dana, env_path(n, "prod", "backup"), {});
    EXPECT_EQ(twice.status, 409) << twice.body.dump();
    EXPECT_EQ(twice.body["rule"], "backup-running");

    // Only the driver cancels; the cancelled job records nothing and leaves no backup.
    EXPECT_EQ(s.post(t.sam, env_path(n, "prod", "backup/cancel"), {}).status, 409);
    Answer cancel = s.post(t.dana, env_path(n, "prod", "backup/cancel"), {});
    ASSERT_EQ(cancel.status, 200) << cancel.body.dump();
    nlohmann::json cancelled = ended_job(s, t.dana, n, 1);
    EXPECT_EQ(cancelled["state"], "cancelled") << cancelled.dump();
    EXPECT_EQ(cancelled["failure"]["code"], "rule") << cancelled.dump();
    EXPECT_TRUE(state_of(s, t.po, n)["backups"].empty());

    // A job running when the server stops is taken up again when it starts.
    Answer second = s.post(t.dana, env_path(n, "prod", "backup"), {});
    ASSERT_EQ(second.status, 202) << second.body.dump();
    EXPECT_EQ(second.body["job"], 2);
    s.restart();
    nlohmann::json resumed;
    ASSERT_TRUE(eventually([&] {
        resumed = s.get(t.dana, env_path(n, "prod", "backup")).body["jobs"].back();
        return resumed["attempts"] == 2;
    })) << resumed.dump();
    EXPECT_EQ(resumed["state"], "running");
    EXPECT_NE(s.server_log().find("took up 1 backup jobs left running"), std::string::npos);
    { std::ofstream go(dir + "/go"); }
    nlohmann::json done = ended_job(s, t.dana, n, 2);
    ASSERT_EQ(done["state"], "succeeded") << done.dump();
    nlohmann::json st = state_of(s, t.po, n);
    ASSERT_EQ(st["backups"].size(), 1u) << st.dump();
    EXPECT_EQ(st["backups"][0]["location"], "label-" + std::to_string(n) + "-prod");

    Answer applied = s.post(t.dana, env_path(n, "prod", "apply"), {{"fingerprint", fp}});
    EXPECT_EQ(applied.status, 200) << applied.body.dump();
    expect_audit_intact(s, t);
}

TEST(Backup, AServerKilledWithADumpOnDiskRemovesItAndTakesTheJobUpAgain) {
    ServerFixture s(with_prod_backup(pg_dump_backup()));
    const std::string dir = s.dir() + "/backups";
    std::filesystem::create_directories(dir);
    Team t = make_team(s);
    long long n = file_request(s, t);
    std::string fp = ready_for_prod_apply(s, t, n);

    // Killed once pg_dump has written the archive, before it is verified.
    s.restart({{"DATAFIX_FAULT", "backup.dumped"}});
    Answer started = s.post(t.dana, env_path(n, "prod", "backup"), {});
    ASSERT_EQ(started.status, 202) << started.body.dump();
    ASSERT_TRUE(s.wait_for_exit(std::chrono::seconds(60))) << "not killed at backup.dumped";
    std::vector<std::string> left = files_in(dir);
    ASSERT_EQ(left.size(), 1u);
    EXPECT_TRUE(left[0].ends_with(".dump.partial")) << left[0];

    s.restart({{"DATAFIX_FAULT", ""}});
    nlohmann::json job = ended_job(s, t.dana, n, started.body.value("job", 0));
    ASSERT_EQ(job["state"], "succeeded") << job.dump();
    EXPECT_EQ(job["attempts"], 2);
    EXPECT_NE(s.server_log().find("removed " + left[0]), std::string::npos);
    std::vector<std::string> now = files_in(dir);
    ASSERT_EQ(now.size(), 1u);
    EXPECT_TRUE(now[0].ends_with(".dump")) << now[0];
    nlohmann::json st = state_of(s, t.po, n);
    ASSERT_EQ(st["backups"].size(), 1u) << st.dump();
    expect_private_file(st["backups"][0]["location"], st["backups"][0]["sha256"]);

    Answer applied = s.post(t.dana, env_path(n, "prod", "apply"), {{"fingerprint", fp}});
    EXPECT_EQ(applied.status, 200) << applied.body.dump();
    EXPECT_EQ(s.psql("prod", kAppUser), "Renamed\n");
    expect_audit_intact(s, t);
}

// The pg_dump processes dumping `database`, found by their command line.
std::vector<pid_t> pg_dumps_of(const std::string& database) {
    std::vector<pid_t> found;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        std::string cmdline = read_file(entry.path().string() + "/cmdline");
        std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
        const std::string stat = read_file(entry.path().string() + "/stat");
        const auto close = stat.rfind(')');
        const bool zombie =
            close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
        if (!zombie && cmdline.find("/pg_dump ") != std::string::npos &&
            cmdline.find("dbname=" + database + " ") != std::string::npos) {
            found.push_back(std::stoi(name));
        }
    }
    return found;
}

// A server killed outright (SIGKILL: no handler, no destructor runs) while pg_dump is running
// leaves no pg_dump behind, so nothing writes on after the crash; started again, it takes the job
// up and finishes it. pg_dump is held running by a session that locks a table of the write
// closure (the audit table the change's trigger writes), which pg_dump must lock to dump it.
TEST(Backup, AServerKilledOutrightLeavesNoPgDumpRunning) {
    ServerFixture s(with_prod_backup(pg_dump_backup()));
    std::filesystem::create_directories(s.dir() + "/backups");
    Team t = make_team(s);
    long long n = file_request(s, t);
    std::string fp = ready_for_prod_apply(s, t, n);
    auto& prod = fixture_detail::cluster("prod");

    process::Spec lock;
    lock.argv = {"/usr/lib/postgresql/15/bin/psql",
                 "-X",
                 "-d",
                 prod.conninfo(s.database()),
                 "-c",
                 "BEGIN; LOCK TABLE app_public.record_version IN ACCESS EXCLUSIVE MODE; "
                 "SELECT pg_sleep(600)"};
    lock.environment = {"PGAPPNAME=datafix-test-lock"};
    process::Child locker(lock);
    const std::string lock_held =
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE "
        "a.application_name = 'datafix-test-lock' AND l.mode = 'AccessExclusiveLock' AND "
        "l.granted AND l.relation = 'app_public.record_version'::regclass";
    ASSERT_TRUE(eventually([&] { return prod.psql(lock_held, s.database()) == "1\n"; }));

    Answer started = s.post(t.dana, env_path(n, "prod", "backup"), {});
    ASSERT_EQ(started.status, 202) << started.body.dump();
    const std::string dump_waits =
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_dump' AND "
        "wait_event_type = 'Lock'";
    ASSERT_TRUE(eventually([&] { return prod.psql(dump_waits, s.database()) == "1\n"; }))
        << s.server_log();
    const std::vector<pid_t> dumps = pg_dumps_of(s.database());
    ASSERT_EQ(dumps.size(), 1u);

    ASSERT_EQ(::kill(s.pid(), SIGKILL), 0);
    ASSERT_TRUE(s.wait_for_exit(std::chrono::seconds(30)));
    EXPECT_TRUE(eventually([&] { return pg_dumps_of(s.database()).empty(); }))
        << "pg_dump " << dumps[0] << " outlived its server";
    EXPECT_TRUE(eventually([&] { return prod.psql(dump_waits, s.database()) == "0\n"; }));

    prod.psql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = "
        "'datafix-test-lock'",
        s.database());
    locker.stop();
    s.restart();
    nlohmann::json job = ended_job(s, t.dana, n, started.body.value("job", 0));
    ASSERT_EQ(job["state"], "succeeded") << job.dump();
    EXPECT_EQ(job["attempts"], 2);
    Answer applied = s.post(t.dana, env_path(n, "prod", "apply"), {{"fingerprint", fp}});
    EXPECT_EQ(applied.status, 200) << applied.body.dump();
}

}  // namespace datafix::e2e
