// The one module that starts child processes: a child sees only stdin, stdout and stderr of this
// process, stdin carries the input, output is capped, a deadline ends the child and everything it
// started, and a program that cannot be started is a clear error.
#include "core/process.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace datafix::process {
namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// A process that is gone, or a zombie nobody reaped (reparented to an init that does not reap).
bool is_gone(pid_t pid) {
    if (::kill(pid, 0) != 0) {
        return errno == ESRCH;
    }
    const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    const auto close = stat.rfind(')');
    return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
}

TEST(Process, AChildSeesNoDescriptorBeyondStdinStdoutAndStderr) {
    // Descriptors this process holds without close-on-exec, as a server holds its log file, a
    // client's socket and a database connection.
    const int log_file = ::open("/dev/null", O_WRONLY);
    int sockets[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sockets), 0);
    ASSERT_GE(log_file, 0);

    Spec spec;
    // The background sleep is a plain copy of the shell's descriptors (ls would list the
    // directory it opens itself).
    spec.argv = {"/bin/sh", "-c", "sleep 5 & ls /proc/$!/fd; kill $!"};
    spec.environment = {"PATH=/usr/bin:/bin"};
    Result r = run(spec);
    ::close(log_file);
    ::close(sockets[0]);
    ::close(sockets[1]);
    ASSERT_TRUE(r.started()) << r.setup_failure(spec);
    EXPECT_EQ(r.exit_status, 0) << r.err;
    std::istringstream lines(r.out);
    std::vector<int> fds;
    for (std::string line; std::getline(lines, line);) {
        fds.push_back(std::stoi(line));
    }
    EXPECT_EQ(fds, (std::vector<int>{0, 1, 2})) << r.out;
}

TEST(Process, StdinCarriesTheInputAndTheEnvironmentIsExactlyTheOneGiven) {
    Spec spec;
    spec.argv = {"/bin/sh", "-c", "cat; echo; env"};
    spec.environment = {"ONLY_THIS=1"};
    // Larger than a pipe's buffer, so input and output must flow at the same time.
    spec.input = std::string(1024 * 1024, 'x');
    spec.max_output_bytes = 4 * 1024 * 1024;
    Result r = run(spec);
    ASSERT_TRUE(r.started()) << r.setup_failure(spec);
    EXPECT_EQ(r.exit_status, 0) << r.err;
    ASSERT_GT(r.out.size(), spec.input.size());
    EXPECT_EQ(r.out.substr(0, spec.input.size()), spec.input);
    const std::string env = r.out.substr(spec.input.size() + 1);
    EXPECT_NE(env.find("ONLY_THIS=1\n"), std::string::npos) << env;
    EXPECT_EQ(env.find("HOME="), std::string::npos) << env;
    EXPECT_EQ(env.find("PATH=/usr"), std::string::npos) << env;
}

TEST(Process, OutputBeyondTheCapKeepsItsTailAndSaysSo) {
    Spec spec;
    spec.argv = {"/bin/sh", "-c", "head -c 300000 /dev/zero | tr '\\0' a; echo END"};
    spec.environment = {"PATH=/usr/bin:/bin"};
    spec.max_output_bytes = 1000;
    Result r = run(spec);
    ASSERT_TRUE(r.started()) << r.setup_failure(spec);
    EXPECT_TRUE(r.out_truncated);
    EXPECT_EQ(r.out.size(), 1000u);
    EXPECT_EQ(r.out.substr(r.out.size() - 4), "END\n");
    EXPECT_FALSE(r.err_truncated);
}

TEST(Process, TheDeadlineEndsTheChildAndEverythingItStarted) {
    const std::string pid_file = (std::filesystem::temp_directory_path() /
                                  ("datafix-process-test-" + std::to_string(::getpid()) + ".pid"))
                                     .string();
    Spec spec;
    // The grandchild ignores SIGTERM, so only the SIGKILL after the grace period ends it; it also
    // holds stdout open.
    spec.argv = {"/bin/sh", "-c",
                 "sh -c 'trap \"\" TERM; exec sleep 60' & echo $! > " + pid_file + "; wait"};
    spec.environment = {"PATH=/usr/bin:/bin"};
    spec.deadline = std::chrono::milliseconds{300};
    Result r = run(spec);
    ASSERT_TRUE(r.started()) << r.setup_failure(spec);
    EXPECT_TRUE(r.timed_out);
    EXPECT_EQ(r.exit_status, 128 + SIGTERM);
    const pid_t grandchild = std::stoi(read_file(pid_file));
    std::filesystem::remove(pid_file);
    // SIGKILL has been sent to the group before run returned; the kernel may take a moment to
    // finish the process.
    for (int i = 0; i < 100 && !is_gone(grandchild); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_TRUE(is_gone(grandchild)) << "grandchild " << grandchild << " survived the deadline";
}

TEST(Process, AMissingProgramIsAClearSetupFailure) {
    Spec spec;
    spec.argv = {"/nonexistent/bin/pg_dump", "--version"};
    Result r = run(spec);
    EXPECT_FALSE(r.started());
    EXPECT_EQ(r.stage, Stage::exec);
    EXPECT_EQ(r.setup_errno, ENOENT);
    EXPECT_EQ(r.setup_failure(spec),
              "cannot execute /nonexistent/bin/pg_dump: No such file or directory");
}

TEST(Process, AnOutputFileIsCreatedByTheChildAndNeverOverwritten) {
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("datafix-process-out-" + std::to_string(::getpid())))
                                 .string();
    Spec spec;
    spec.argv = {"/bin/echo", "written"};
    spec.stdout_file = path;
    Result r = run(spec);
    ASSERT_TRUE(r.started()) << r.setup_failure(spec);
    EXPECT_EQ(read_file(path), "written\n");
    EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    Result again = run(spec);
    EXPECT_EQ(again.stage, Stage::create_file);
    EXPECT_EQ(again.setup_errno, EEXIST);
    EXPECT_EQ(read_file(path), "written\n");
    std::filesystem::remove(path);
}

TEST(Process, ARelativeProgramPathIsRefused) {
    Spec spec;
    spec.argv = {"sh", "-c", "true"};
    EXPECT_THROW(run(spec), std::exception);
}

}  // namespace
}  // namespace datafix::process
