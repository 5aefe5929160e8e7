// The port-forward's lifetime: it dies under a running connection and says why, and nothing is
// left behind whether datafix ends normally, by an exception or by a signal.
#include "discover/port_forward.hpp"

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>

#include "core/error.hpp"
#include "discover/fake_client.hpp"
#include "discover/leader.hpp"
#include "harness/pg_cluster.hpp"

namespace datafix::discover {
namespace {

using testing::ended_within;
using testing::fake_pod;
using testing::FakeClusterClient;
using testing::process_exists;

const std::string kNamespace = "ff61fb-prod";

class PortForwardLifetime : public ::testing::Test {
  protected:
    void SetUp() override {
        auto& clusters = datafix::testing::SampleClusters::get();
        prod_id_ = clusters.prod().system_identifier();
        fake_.set("DATAFIX_FAKE_PROJECT", kNamespace);
        fake_.set("DATAFIX_FAKE_PODS", fake_pod("ccbc-instance1-q8vz-0", kNamespace, "Running",
                                                true, "master", clusters.prod().port()));
        target_.namespace_name = kNamespace;
        target_.cluster = "ccbc";
        target_.conninfo = "dbname=app user=datafix_login password=datafix-test-password";
        target_.timeout = std::chrono::seconds{20};
        target_.search_path = fake_.bin_dir();
    }

    FakeClusterClient fake_;
    PodTarget target_;
    std::string prod_id_;
};

TEST_F(PortForwardLifetime, DyingMidRunBreaksTheConnectionAndSaysWhy) {
    fake_.set("DATAFIX_FAKE_DIE_FILE", fake_.file("die"));
    int group = -1;
    int forward_pid = -1;
    {
        ReachedLeader leader = find_leader(target_);
        group = leader.forward().process_group();
        forward_pid = fake_.forward_pid();
        ASSERT_TRUE(process_exists(forward_pid));

        pqxx::connection conn(leader.conninfo());
        pqxx::work tx(conn);
        EXPECT_EQ(tx.exec1("SELECT system_identifier::text FROM pg_control_system()")[0]
                      .as<std::string>(),
                  prod_id_);
        // The stream to the pod is lost while the run's transaction is open. The client is
        // datafix's own child: it stays a zombie until the forward notices and reaps it.
        std::ofstream(fake_.file("die")).put('\n');
        ASSERT_TRUE(ended_within(forward_pid, std::chrono::seconds(5)));
        EXPECT_THROW(tx.exec("SELECT 1"), pqxx::broken_connection);

        // libpq only says the server closed the connection; the forward says why.
        try {
            leader.forward().check_alive(std::chrono::seconds(2));
            ADD_FAILURE() << "check_alive did not report the ended forward";
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::unreachable);
            EXPECT_NE(e.message().find("the port-forward to pod ccbc-instance1-q8vz-0 in namespace "
                                       "ff61fb-prod"),
                      std::string::npos)
                << e.message();
            EXPECT_NE(e.message().find("ended (exit status 1)"), std::string::npos);
            EXPECT_NE(e.message().find("lost connection to pod"), std::string::npos);
            EXPECT_NE(e.hint().find("in-doubt"), std::string::npos);
        }
        EXPECT_FALSE(leader.forward().alive());
        EXPECT_EQ(leader.forward().process_group(), -1);  // reaped already
    }
    EXPECT_FALSE(process_exists(forward_pid));
    EXPECT_FALSE(process_exists(-group));

    // The next step finds the leader again through a new forward.
    std::filesystem::remove(fake_.file("die"));
    ReachedLeader again = find_leader(target_);
    pqxx::connection conn(again.conninfo());
    pqxx::nontransaction tx(conn);
    EXPECT_EQ(tx.exec1("SELECT NOT pg_is_in_recovery()")[0].as<bool>(), true);
}

TEST_F(PortForwardLifetime, ALiveForwardPassesTheCheck) {
    ReachedLeader leader = find_leader(target_);
    EXPECT_NO_THROW(leader.forward().check_alive());
    EXPECT_TRUE(leader.forward().alive());
    EXPECT_EQ(leader.forward().output().rfind("Forwarding from 127.0.0.1:", 0), 0u)
        << leader.forward().output();
}

// The server holds sockets and database connections; the client must not inherit them (a forward
// that outlived the server would otherwise keep its listening port).
TEST_F(PortForwardLifetime, TheClientInheritsNoDescriptorOfDatafix) {
    int inherited[2];
    ASSERT_EQ(::pipe(inherited), 0);  // deliberately without O_CLOEXEC
    const std::string ours =
        std::filesystem::read_symlink("/proc/self/fd/" + std::to_string(inherited[0])).string();
    {
        ReachedLeader leader = find_leader(target_);
        const std::string fds = "/proc/" + std::to_string(fake_.forward_pid()) + "/fd";
        int seen = 0;
        for (const auto& entry : std::filesystem::directory_iterator(fds)) {
            std::error_code ec;
            EXPECT_NE(std::filesystem::read_symlink(entry.path(), ec).string(), ours);
            ++seen;
        }
        EXPECT_GE(seen, 3);
    }
    ::close(inherited[0]);
    ::close(inherited[1]);
}

TEST_F(PortForwardLifetime, StopIsIdempotentAndMoveKeepsOneOwner) {
    ReachedLeader leader = find_leader(target_);
    const int group = leader.forward().process_group();
    PortForward moved = std::move(leader.forward());
    EXPECT_EQ(moved.process_group(), group);
    EXPECT_EQ(leader.forward().process_group(), -1);
    leader.forward().stop();  // the moved-from object owns nothing
    EXPECT_TRUE(process_exists(-group));
    moved.stop();
    moved.stop();
    EXPECT_FALSE(process_exists(-group));
}

// datafix killed by a signal runs no destructor; the forward must still go. A child process
// plays datafix: it starts a forward and waits; the test signals it and checks that the client
// (killed by the keeper process, core/process_keeper.hpp) is gone. This process is made a
// subreaper so that the client, orphaned with the child, is re-parented here and can be reaped:
// otherwise "gone" would be a zombie of whatever PID 1 is.
TEST_F(PortForwardLifetime, ASignalToDatafixStopsTheForward) {
    ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    for (int sig : {SIGTERM, SIGINT, SIGKILL}) {
        SCOPED_TRACE(sig);
        ::unlink(fake_.file("forward.pid").c_str());
        int fds[2];
        ASSERT_EQ(::pipe(fds), 0);
        const pid_t datafix = ::fork();
        ASSERT_GE(datafix, 0);
        if (datafix == 0) {
            ::close(fds[0]);
            try {
                ReachedLeader leader = find_leader(target_);
                const int ids[2] = {leader.forward().process_group(), fake_.forward_pid()};
                if (::write(fds[1], ids, sizeof ids) != sizeof ids) {
                    ::_exit(2);
                }
                for (;;) {
                    ::pause();
                }
            } catch (...) {
                ::_exit(1);
            }
        }
        ::close(fds[1]);
        int ids[2] = {-1, -1};
        const ssize_t n = ::read(fds[0], ids, sizeof ids);
        ::close(fds[0]);
        ASSERT_EQ(n, static_cast<ssize_t>(sizeof ids));
        const int group = ids[0];
        const int forward_pid = ids[1];
        EXPECT_TRUE(process_exists(forward_pid));

        ASSERT_EQ(::kill(datafix, sig), 0);
        int wstatus = 0;
        ASSERT_EQ(::waitpid(datafix, &wstatus, 0), datafix);
        EXPECT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == sig);

        // The keeper sees datafix's end of its socket close and kills the client's group.
        int client_status = 0;
        pid_t reaped = 0;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while ((reaped = ::waitpid(group, &client_status, WNOHANG)) == 0 &&
               std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        EXPECT_EQ(reaped, group);
        EXPECT_FALSE(process_exists(forward_pid));
        EXPECT_FALSE(process_exists(-group));
    }
    ::prctl(PR_SET_CHILD_SUBREAPER, 0);
}

}  // namespace
}  // namespace datafix::discover
