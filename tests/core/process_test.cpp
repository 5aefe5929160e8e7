// The one module that starts child processes: a child sees only stdin, stdout and stderr of this
// process, stdin carries the input, output is capped and streamed line by line, a deadline ends
// the child and everything it started, a process killed outright leaves no child running, and a
// program that cannot be started is a clear error. The behaviour tests run on both ways a child
// is started: posix_spawn, and the fork path taken for a resource limit or an OS user.
#include "core/process.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "core/error.hpp"

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

// How a child is started: posix_spawn, or the fork path (a resource limit forces it).
enum class Route { spawn, fork };

Spec spec_on(Route route) {
    Spec spec;
    if (route == Route::fork) {
        spec.max_file_bytes = std::uint64_t{1} << 40;  // a limit nobody reaches
    }
    return spec;
}

class OnBothRoutes : public ::testing::TestWithParam<Route> {};

INSTANTIATE_TEST_SUITE_P(Process, OnBothRoutes, ::testing::Values(Route::spawn, Route::fork),
                         [](const auto& test) {
                             return std::string(test.param == Route::spawn ? "PosixSpawn" : "Fork");
                         });

std::string link_of(int fd) {
    return std::filesystem::read_symlink("/proc/self/fd/" + std::to_string(fd)).string();
}

// The child lists its own /proc/self/fd while this process holds, without close-on-exec, what a
// server holds: its log file, a listening socket and a client's connection.
TEST_P(OnBothRoutes, AChildHasOnlyStdinStdoutAndStderrOpen) {
    const std::string log_path = (std::filesystem::temp_directory_path() /
                                  ("datafix-process-log-" + std::to_string(::getpid())))
                                     .string();
    const int log_file = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    ASSERT_GE(log_file, 0);
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(listener, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(listener, 1), 0);
    int client[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, client), 0);
    const std::set<std::string> held = {link_of(log_file), link_of(listener), link_of(client[0]),
                                        link_of(client[1])};

    for (const bool with_input : {false, true}) {
        SCOPED_TRACE(with_input ? "with input" : "stdin from /dev/null");
        Spec spec = spec_on(GetParam());
        spec.argv = {"/bin/ls", "-l", "/proc/self/fd"};
        spec.environment = {"LC_ALL=C"};
        spec.input = with_input ? "unread input" : "";
        Result r = run(spec);
        ASSERT_TRUE(r.started()) << r.setup_failure(spec);
        EXPECT_EQ(r.exit_status, 0) << r.err;
        // "lr-x------ 1 u g 64 Nov 30 12:00 0 -> /dev/null"
        std::map<int, std::string> open_fds;
        std::istringstream lines(r.out);
        for (std::string line; std::getline(lines, line);) {
            const auto arrow = line.find(" -> ");
            if (arrow == std::string::npos) {
                continue;  // "total 0"
            }
            const auto number = line.rfind(' ', arrow - 1);
            const std::string target = line.substr(arrow + 4);
            if (target.starts_with("/proc/") && target.ends_with("/fd")) {
                continue;  // the directory ls itself opened to list
            }
            open_fds[std::stoi(line.substr(number + 1, arrow - number - 1))] = target;
        }
        ASSERT_EQ(open_fds.size(), 3u) << r.out;
        ASSERT_TRUE(open_fds.contains(0) && open_fds.contains(1) && open_fds.contains(2)) << r.out;
        EXPECT_EQ(open_fds[0].rfind(with_input ? "socket:[" : "/dev/null", 0), 0u) << r.out;
        EXPECT_EQ(open_fds[1].rfind("pipe:[", 0), 0u) << r.out;
        EXPECT_EQ(open_fds[2].rfind("pipe:[", 0), 0u) << r.out;
        for (const auto& [fd, target] : open_fds) {
            EXPECT_FALSE(held.contains(target)) << fd << " -> " << target;
        }
    }
    ::close(log_file);
    ::close(listener);
    ::close(client[0]);
    ::close(client[1]);
    std::filesystem::remove(log_path);
}

// What the child's own children inherit: the same three (a background sleep is a plain copy of the
// shell's descriptors).
TEST(Process, AGrandchildInheritsNothingMoreEither) {
    const int log_file = ::open("/dev/null", O_WRONLY);
    ASSERT_GE(log_file, 0);
    Spec spec;
    spec.argv = {"/bin/sh", "-c", "sleep 5 & ls /proc/$!/fd; kill $!"};
    spec.environment = {"PATH=/usr/bin:/bin"};
    Result r = run(spec);
    ::close(log_file);
    ASSERT_TRUE(r.started()) << r.setup_failure(spec);
    EXPECT_EQ(r.exit_status, 0) << r.err;
    std::istringstream lines(r.out);
    std::vector<int> fds;
    for (std::string line; std::getline(lines, line);) {
        fds.push_back(std::stoi(line));
    }
    EXPECT_EQ(fds, (std::vector<int>{0, 1, 2})) << r.out;
}

TEST_P(OnBothRoutes, StdinCarriesTheInputAndTheEnvironmentIsExactlyTheOneGiven) {
    Spec spec = spec_on(GetParam());
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

TEST_P(OnBothRoutes, TheDeadlineEndsTheChildAndEverythingItStarted) {
    const std::string pid_file = (std::filesystem::temp_directory_path() /
                                  ("datafix-process-test-" + std::to_string(::getpid()) + ".pid"))
                                     .string();
    Spec spec = spec_on(GetParam());
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

TEST_P(OnBothRoutes, AMissingProgramIsAClearSetupFailure) {
    Spec spec = spec_on(GetParam());
    spec.argv = {"/nonexistent/bin/pg_dump", "--version"};
    Result r = run(spec);
    EXPECT_FALSE(r.started());
    EXPECT_EQ(r.stage, Stage::exec);
    EXPECT_EQ(r.setup_errno, ENOENT);
    EXPECT_EQ(r.setup_failure(spec),
              "cannot execute /nonexistent/bin/pg_dump: No such file or directory");
}

TEST_P(OnBothRoutes, AnOutputFileIsCreatedOnceAndNeverOverwritten) {
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("datafix-process-out-" + std::to_string(::getpid())))
                                 .string();
    Spec spec = spec_on(GetParam());
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

TEST_P(OnBothRoutes, TheExitStatusOrTheEndingSignalIsReported) {
    Spec spec = spec_on(GetParam());
    spec.argv = {"/bin/sh", "-c", "exit 3"};
    Result exited = run(spec);
    ASSERT_TRUE(exited.started()) << exited.setup_failure(spec);
    EXPECT_EQ(exited.exit_status, 3);
    EXPECT_EQ(exited.signal, 0);
    EXPECT_FALSE(exited.timed_out);

    spec.argv = {"/bin/sh", "-c", "kill -USR1 $$"};
    Result killed = run(spec);
    ASSERT_TRUE(killed.started()) << killed.setup_failure(spec);
    EXPECT_EQ(killed.signal, SIGUSR1);
    EXPECT_EQ(killed.exit_status, 128 + SIGUSR1);
    EXPECT_FALSE(killed.timed_out);
}

// A server ignores SIGPIPE and may block signals in its threads; the program starts clean. (On
// the fork path, which sets a file-size limit, SIGXFSZ is ignored on purpose: a write past the
// limit fails with EFBIG and the program says so. glibc's posix_spawn leaves its two reserved
// signals, 32 and 33, ignored; no program can use them.)
TEST_P(OnBothRoutes, TheChildStartsWithNoSignalBlockedOrIgnored) {
    struct sigaction ignore {};
    struct sigaction before {};
    ignore.sa_handler = SIG_IGN;
    ASSERT_EQ(::sigaction(SIGPIPE, &ignore, &before), 0);
    sigset_t blocked;
    sigset_t old_mask;
    ::sigemptyset(&blocked);
    ::sigaddset(&blocked, SIGUSR2);
    ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &blocked, &old_mask), 0);

    Spec spec = spec_on(GetParam());
    spec.argv = {"/bin/grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status"};
    Result r = run(spec);
    ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    ::sigaction(SIGPIPE, &before, nullptr);
    ASSERT_TRUE(r.started()) << r.setup_failure(spec);
    std::istringstream lines(r.out);
    std::map<std::string, std::uint64_t> masks;
    for (std::string name, hex; lines >> name >> hex;) {
        masks[name] = std::stoull(hex, nullptr, 16);
    }
    ASSERT_EQ(masks.size(), 2u) << r.out;
    EXPECT_EQ(masks["SigBlk:"], 0u) << r.out;
    const std::uint64_t standard_signals = (std::uint64_t{1} << 31) - 1;  // 1 to 31
    const std::uint64_t expected_ignored =
        GetParam() == Route::fork ? std::uint64_t{1} << (SIGXFSZ - 1) : 0;
    EXPECT_EQ(masks["SigIgn:"] & standard_signals, expected_ignored) << r.out;
}

TEST_P(OnBothRoutes, OutputIsStreamedLineByLineWhileTheProgramRuns) {
    const std::string gate = (std::filesystem::temp_directory_path() /
                              ("datafix-process-gate-" + std::to_string(::getpid())))
                                 .string();
    std::filesystem::remove(gate);
    Spec spec = spec_on(GetParam());
    // The program prints "second" only after the test has seen "first": without streaming it
    // would wait until the deadline. Then an empty line, a line of exactly the 16 bytes buffered,
    // and a last line of 40 bytes without a newline.
    spec.argv = {"/bin/sh", "-c",
                 "echo first; echo warning >&2; while [ ! -e " + gate +
                     " ]; do sleep 0.01; done; echo second; echo; echo yyyyyyyyyyyyyyyy; printf "
                     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"};
    spec.environment = {"PATH=/usr/bin:/bin"};
    spec.deadline = std::chrono::seconds{60};
    std::vector<std::string> out_lines;
    std::vector<std::string> err_lines;
    Watch watch;
    watch.max_line_bytes = 16;
    watch.on_line = [&](Stream stream, std::string_view line) {
        (stream == Stream::out ? out_lines : err_lines).emplace_back(line);
        if (line == "first") {
            std::ofstream(gate).put('\n');
        }
    };
    Result r = run(spec, watch);
    std::filesystem::remove(gate);
    ASSERT_TRUE(r.started()) << r.setup_failure(spec);
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.exit_status, 0) << r.err;
    const std::string x16(16, 'x');
    const std::string y16(16, 'y');
    EXPECT_EQ(out_lines, (std::vector<std::string>{"first", "second", "", y16, x16, x16,
                                                   std::string(8, 'x')}));
    EXPECT_EQ(err_lines, (std::vector<std::string>{"warning"}));
    // The captured tail holds the same bytes.
    EXPECT_EQ(r.out, "first\nsecond\n\n" + y16 + "\n" + std::string(40, 'x'));
    EXPECT_EQ(r.err, "warning\n");
}

// waits up to `limit` for `done`; for events the test cannot otherwise wait on.
template <typename Predicate>
bool within(std::chrono::seconds limit, Predicate done) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > until) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

// A server killed with SIGKILL runs no destructor and no handler: the keeper, which sees the
// server's end of its socket close, kills the child's group, grandchild included. A forked copy of
// this test plays the server.
TEST_P(OnBothRoutes, AProcessKilledOutrightLeavesNoChildRunning) {
    const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                      ("datafix-process-killed-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const std::string pids = (dir / "pids").string();
    Spec spec = spec_on(GetParam());
    spec.argv = {
        "/bin/sh", "-c",
        "sleep 300 & echo $$ $! > " + pids + ".tmp && mv " + pids + ".tmp " + pids + "; wait"};
    spec.environment = {"PATH=/usr/bin:/bin"};

    const pid_t server = ::fork();
    ASSERT_GE(server, 0);
    if (server == 0) {
        run(spec);
        ::_exit(0);
    }
    ASSERT_TRUE(within(std::chrono::seconds{30}, [&] { return std::filesystem::exists(pids); }));
    std::istringstream ids(read_file(pids));
    pid_t child = 0;
    pid_t grandchild = 0;
    ids >> child >> grandchild;
    ASSERT_GT(child, 0);
    ASSERT_GT(grandchild, 0);
    EXPECT_FALSE(is_gone(child));
    EXPECT_FALSE(is_gone(grandchild));

    ASSERT_EQ(::kill(server, SIGKILL), 0);
    int wstatus = 0;
    ASSERT_EQ(::waitpid(server, &wstatus, 0), server);
    EXPECT_TRUE(within(std::chrono::seconds{10}, [&] { return is_gone(child); }))
        << "child " << child << " survived its server";
    EXPECT_TRUE(within(std::chrono::seconds{10}, [&] { return is_gone(grandchild); }))
        << "grandchild " << grandchild << " survived its server";
    std::filesystem::remove_all(dir);
}

TEST_P(OnBothRoutes, ALongRunningChildWritesToItsFileAndStopEndsItsGroup) {
    const int output = ::memfd_create("datafix-process-test", MFD_CLOEXEC);
    ASSERT_GE(output, 0);
    Spec spec = spec_on(GetParam());
    spec.argv = {"/bin/sh", "-c", "sleep 300 & echo $!; exec sleep 300"};
    spec.environment = {"PATH=/usr/bin:/bin"};
    spec.output_fd = output;
    Child child(spec);
    const int group = child.pid();
    ASSERT_GT(group, 0);
    EXPECT_TRUE(child.running());
    std::string written;
    ASSERT_TRUE(within(std::chrono::seconds{30}, [&] {
        written = read_file("/proc/self/fd/" + std::to_string(output));
        return written.find('\n') != std::string::npos;
    }));
    const pid_t grandchild = std::stoi(written);
    EXPECT_TRUE(::kill(-group, 0) == 0);

    Child moved = std::move(child);
    EXPECT_EQ(child.pid(), -1);  // the moved-from object owns nothing
    child.stop();
    EXPECT_TRUE(moved.running());
    moved.stop();
    EXPECT_FALSE(moved.running());
    EXPECT_EQ(moved.pid(), -1);
    EXPECT_EQ(moved.exit_status(), 128 + SIGTERM);
    EXPECT_TRUE(within(std::chrono::seconds{10}, [&] { return is_gone(grandchild); }));
    moved.stop();  // idempotent
    ::close(output);
}

TEST_P(OnBothRoutes, ALongRunningChildThatCannotStartIsAConfigError) {
    Spec spec = spec_on(GetParam());
    spec.argv = {"/nonexistent/bin/oc", "port-forward"};
    try {
        Child child(spec);
        ADD_FAILURE() << "a missing program started";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::config);
        EXPECT_EQ(e.message(), "cannot execute /nonexistent/bin/oc: No such file or directory");
    }
}

TEST(Process, ARelativeProgramPathIsRefused) {
    Spec spec;
    spec.argv = {"sh", "-c", "true"};
    EXPECT_THROW(run(spec), std::exception);
}

}  // namespace
}  // namespace datafix::process
