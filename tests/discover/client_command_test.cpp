// Finding and running the cluster client: PATH lookup, exit statuses, output, deadlines.
#include "discover/client_command.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>

#include <cstdlib>

#include "core/error.hpp"

namespace datafix::discover {
namespace {

TEST(FindClient, LooksUpABareNameOnTheSearchPath) {
    EXPECT_EQ(find_client("sh", "/nonexistent:/bin"), "/bin/sh");
}

TEST(FindClient, AMissingClientIsAConfigErrorNamingWhatWasSearched) {
    try {
        find_client("oc", "/nonexistent-a:/nonexistent-b");
        ADD_FAILURE() << "found a client that does not exist";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::config);
        EXPECT_NE(e.message().find("\"oc\" was not found on PATH (/nonexistent-a:/nonexistent-b)"),
                  std::string::npos);
        EXPECT_NE(e.hint().find("client"), std::string::npos);
    }
    EXPECT_THROW(find_client("/nonexistent/bin/oc", ""), Error);
    // A file, but not executable (not even for root, who may execute only what has an x bit).
    char plain[] = "/tmp/datafix-discover-plain-XXXXXX";
    const int fd = ::mkstemp(plain);
    ASSERT_GE(fd, 0);
    ::close(fd);
    EXPECT_THROW(find_client(plain, ""), Error);
    ::unlink(plain);
}

TEST(RunCommand, CollectsOutputAndExitStatus) {
    const CommandResult r =
        run_command({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, std::chrono::seconds{10});
    EXPECT_EQ(r.exit_status, 3);
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.out, "out\n");
    EXPECT_EQ(r.err, "err\n");
}

TEST(RunCommand, ADeadlineKillsTheWholeProcessGroup) {
    const auto started = std::chrono::steady_clock::now();
    // The background sleep keeps stdout open: only killing the group ends the wait.
    const CommandResult r =
        run_command({"/bin/sh", "-c", "sleep 30 & sleep 30"}, std::chrono::milliseconds{300});
    EXPECT_TRUE(r.timed_out);
    EXPECT_EQ(r.exit_status, 128 + SIGTERM);  // SIGTERM first; SIGKILL only after a grace period
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds{5});
}

TEST(RunCommand, AClientThatCannotBeExecutedIsAConfigErrorNamingIt) {
    try {
        run_command({"/nonexistent/bin/oc", "get", "pods"}, std::chrono::seconds{10});
        ADD_FAILURE() << "ran a client that does not exist";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::config);
        EXPECT_NE(e.message().find("cannot execute /nonexistent/bin/oc: No such file or directory"),
                  std::string::npos)
            << e.message();
    }
}

TEST(RunCommand, CommandTextNamesTheClientWithoutItsDirectory) {
    EXPECT_EQ(command_text({"/usr/local/bin/oc", "-n", "ff61fb-prod", "project", "-q"}),
              "oc -n ff61fb-prod project -q");
}

}  // namespace
}  // namespace datafix::discover
