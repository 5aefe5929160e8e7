// The container image's root file system, built from Debian 12 packages by
// deploy/image/build-rootfs.sh (the same package list as the Containerfile), run the way
// OpenShift's restricted SCC runs it: an arbitrary UID in group 0, the root file system read-only,
// one writable volume at /var/lib/datafix and the configuration read-only at /etc/datafix.
// Containers cannot run here, so a private mount namespace and chroot stand in for the runtime;
// what runs is the image's own tree. The ctest entry deploy_rootfs builds the tree first (once per
// package list).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/version.hpp"
#include "harness/pg_cluster.hpp"
#include "harness/process.hpp"

extern char** environ;

namespace datafix::deploy {
namespace {

namespace fs = std::filesystem;
using testing::run_process;

// An OpenShift-style UID: from a namespace's range, in no /etc/passwd.
constexpr uid_t kUid = 1000680000;

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void write_owned(const std::string& path, const std::string& text, mode_t mode) {
    std::ofstream(path, std::ios::binary) << text;
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    ASSERT_EQ(::chown(path.c_str(), kUid, 0), 0);
}

class Rootfs : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        // Cached by package list: only the binary is copied in when the tree exists.
        auto built =
            run_process({DATAFIX_SOURCE_DIR "/deploy/image/build-rootfs.sh", DATAFIX_BINARY});
        ASSERT_EQ(built.status, 0) << built.err;
        rootfs_ = new std::string(built.out.substr(0, built.out.find('\n')));
    }
    static void TearDownTestSuite() {
        delete rootfs_;
        rootfs_ = nullptr;
    }

    void SetUp() override {
        ASSERT_NE(rootfs_, nullptr);
        char tmpl[] = "/tmp/datafix-rootfs-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        for (const char* d : {"/mnt", "/volume", "/config"}) {
            fs::create_directory(dir_ + d);
        }
        // As a PersistentVolume arrives with OpenShift's fsGroup: group 0 may write.
        ASSERT_EQ(::chown((dir_ + "/volume").c_str(), 0, 0), 0);
        fs::permissions(dir_ + "/volume", fs::perms::owner_all | fs::perms::group_all);
        fs::permissions(dir_ + "/config", fs::perms::owner_all | fs::perms::group_read |
                                              fs::perms::group_exec | fs::perms::others_read |
                                              fs::perms::others_exec);
        // Anything the runs below write outside the volume would be newer than this.
        marker_ = dir_ + "/before";
        std::ofstream(marker_) << "";
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }

    void TearDown() override {
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }

    // argv inside the image: a private mount namespace with the tree bound read-only, the volume
    // and the configuration bound over it, and chroot to the tree as kUid:0.
    std::vector<std::string> inside(const std::vector<std::string>& command) const {
        std::string m = dir_ + "/mnt";
        std::string script = "set -e; m=" + m + "; mount --bind " + *rootfs_ +
                             " $m; mount -o remount,bind,ro $m; " + "mount --bind " + dir_ +
                             "/volume $m/var/lib/datafix; " + "mount --bind " + dir_ +
                             "/config $m/etc/datafix; mount -o remount,bind,ro $m/etc/datafix; " +
                             "exec chroot --userspec=" + std::to_string(kUid) + ":0 $m \"$@\"";
        std::vector<std::string> argv = {"/usr/bin/unshare", "--mount", "--propagation", "private",
                                         "/bin/sh",          "-c",      script,          "sh"};
        argv.insert(argv.end(), command.begin(), command.end());
        return argv;
    }

    testing::ProcessResult run_inside(const std::vector<std::string>& command) const {
        return run_process(inside(command));
    }

    // Files of the image's tree changed since SetUp (there must be none).
    std::string written_outside_the_volume() const {
        auto found = run_process({"/usr/bin/find", *rootfs_, "-xdev", "-newer", marker_});
        return found.out;
    }

    static std::string* rootfs_;
    std::string dir_;
    std::string marker_;
};

std::string* Rootfs::rootfs_ = nullptr;

TEST_F(Rootfs, HasEveryRuntimeLibraryAndPostgreSQL15Tools) {
    auto ldd = run_inside({"/usr/bin/ldd", "/usr/local/bin/datafix"});
    ASSERT_EQ(ldd.status, 0) << ldd.err;
    EXPECT_EQ(ldd.out.find("not found"), std::string::npos) << ldd.out;
    EXPECT_NE(ldd.out.find("libpq.so.5"), std::string::npos) << ldd.out;
    for (const char* tool : {"pg_dump", "pg_restore"}) {
        auto v = run_inside({std::string("/usr/lib/postgresql/15/bin/") + tool, "--version"});
        ASSERT_EQ(v.status, 0) << tool << ": " << v.err;
        EXPECT_NE(v.out.find("(PostgreSQL) 15."), std::string::npos) << v.out;
    }
    EXPECT_EQ(written_outside_the_volume(), "");
}

TEST_F(Rootfs, RunsAsAnArbitraryUidOnAReadOnlyTree) {
    auto id = run_inside({"/usr/bin/id", "-u"});
    ASSERT_EQ(id.status, 0) << id.err;
    EXPECT_EQ(id.out, std::to_string(kUid) + "\n");
    auto version = run_inside({"/usr/local/bin/datafix", "--version"});
    ASSERT_EQ(version.status, 0) << version.err;
    EXPECT_EQ(version.out, std::string("datafix ") + datafix::version() + "\n");

    // Only the volume takes writes.
    auto tree = run_inside({"/usr/bin/touch", "/usr/local/bin/x"});
    EXPECT_NE(tree.status, 0);
    EXPECT_NE(tree.err.find("Read-only file system"), std::string::npos) << tree.err;
    auto config = run_inside({"/usr/bin/touch", "/etc/datafix/x"});
    EXPECT_NE(config.status, 0);
    auto volume = run_inside({"/usr/bin/touch", "/var/lib/datafix/x"});
    EXPECT_EQ(volume.status, 0) << volume.err;
    struct stat st {};
    ASSERT_EQ(::stat((dir_ + "/volume/x").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, kUid);
    EXPECT_EQ(written_outside_the_volume(), "");
}

// A server process inside the image; SIGTERM at the end.
class InsideServer {
  public:
    InsideServer(const std::vector<std::string>& argv, const std::string& dir) : dir_(dir) {
        // setpriv's parent-death signal: a test that dies takes the server with it.
        std::vector<std::string> args = {"/usr/bin/setpriv", "--pdeathsig", "KILL", "--"};
        args.insert(args.end(), argv.begin(), argv.end());
        std::vector<char*> cargv;
        for (auto& a : args) {
            cargv.push_back(a.data());
        }
        cargv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 1, (dir + "/server.out").c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0600);
        posix_spawn_file_actions_addopen(&actions, 2, (dir + "/server.err").c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (posix_spawn(&pid_, cargv[0], &actions, nullptr, cargv.data(), environ) != 0) {
            pid_ = -1;
        }
        posix_spawn_file_actions_destroy(&actions);
        for (int i = 0; i < 400 && pid_ > 0 && url_.empty(); ++i) {
            std::string out = read_text(dir + "/server.out");
            auto at = out.find("listening on ");
            auto eol = out.find('\n', at);
            if (at != std::string::npos && eol != std::string::npos) {
                url_ = out.substr(at + 13, eol - at - 13);
                break;
            }
            if (::waitpid(pid_, &status_, WNOHANG) == pid_) {
                pid_ = -1;
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
    ~InsideServer() { stop(); }

    // The exit status after SIGTERM (-1 when it was not running).
    int stop() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            ::waitpid(pid_, &status_, 0);
            pid_ = -1;
            return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
        }
        return -1;
    }
    const std::string& url() const { return url_; }
    std::string err() const { return read_text(dir_ + "/server.err"); }

  private:
    std::string dir_;
    std::string url_;
    int pid_ = -1;
    int status_ = 0;
};

TEST_F(Rootfs, ChecksItsConfigurationAndServesFromTheVolume) {
    auto cluster = testing::PgCluster::create("deploy");
    testing::load_sample_schema(*cluster);
    // The target over TCP with libpq's password file, as in a pod (README, "Deploy on
    // OpenShift"): the file is the server's own, mode 0600.
    write_owned(dir_ + "/config/pgpass", "127.0.0.1:*:app:datafix_login:datafix-test-password\n",
                0600);
    std::ostringstream toml;
    toml
        << "[server]\nlisten = \"127.0.0.1\"\nport = 0\n"
        << "ledger = \"/var/lib/datafix/datafix.db\"\nkey_file = \"/var/lib/datafix/datafix.key\"\n"
        << "data_dir = \"/var/lib/datafix/data\"\nlog_format = \"json\"\n\n"
        << "[[environment]]\nname = \"dev\"\n"
        << "conninfo = \"host=127.0.0.1 port=" << cluster->port()
        << " dbname=app user=datafix_login passfile=/etc/datafix/pgpass sslmode=disable\"\n"
        << "role = \"app_owner\"\nsystem_identifier = \"" << cluster->system_identifier()
        << "\"\napprovals = [\"pair\"]\n";
    write_owned(dir_ + "/config/datafix.toml", toml.str(), 0644);

    auto init = run_inside({"/usr/local/bin/datafix", "init", "--config",
                            "/etc/datafix/datafix.toml", "--admin-email", "admin@example.com",
                            "--admin-name", "Alex Admin", "--output", "json"});
    ASSERT_EQ(init.status, 0) << init.err;

    auto check = run_inside({"/usr/local/bin/datafix", "server", "--config",
                             "/etc/datafix/datafix.toml", "--check-config"});
    EXPECT_EQ(check.status, 0) << check.out << check.err;
    EXPECT_NE(check.out.find("dev: ok"), std::string::npos) << check.out;
    EXPECT_NE(check.out.find("role: ok (login datafix_login set role app_owner)"),
              std::string::npos)
        << check.out;
    EXPECT_NE(check.out.find("data_dir: ok"), std::string::npos) << check.out;

    {
        InsideServer server(
            inside({"/usr/local/bin/datafix", "server", "--config", "/etc/datafix/datafix.toml"}),
            dir_);
        ASSERT_FALSE(server.url().empty()) << server.err();
        httplib::Client client(server.url());
        auto health = client.Get("/healthz");
        ASSERT_TRUE(health);
        EXPECT_EQ(health->status, 200);
        auto ready = client.Get("/readyz");
        ASSERT_TRUE(ready);
        EXPECT_EQ(ready->status, 200) << ready->body;
        EXPECT_EQ(nlohmann::json::parse(ready->body)["status"], "ready");
        EXPECT_EQ(server.stop(), 0) << server.err();
        // The log went to stderr as JSON, one object a line.
        std::istringstream lines(server.err());
        int parsed = 0;
        for (std::string line; std::getline(lines, line);) {
            auto entry = nlohmann::json::parse(line, nullptr, false);
            ASSERT_FALSE(entry.is_discarded()) << line;
            EXPECT_TRUE(entry.contains("level") && entry.contains("message")) << line;
            ++parsed;
        }
        EXPECT_GT(parsed, 0);
    }

    // Everything the server wrote is on the volume, owned by the UID it ran as.
    for (const char* name : {"datafix.db", "datafix.key", "datafix-audit.key", "data"}) {
        struct stat st {};
        ASSERT_EQ(::stat((dir_ + "/volume/" + name).c_str(), &st), 0) << name;
        EXPECT_EQ(st.st_uid, kUid) << name;
    }
    EXPECT_EQ(written_outside_the_volume(), "");
}

}  // namespace
}  // namespace datafix::deploy
