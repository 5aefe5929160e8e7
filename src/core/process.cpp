// fork and execve rather than posix_spawn: a backup's child must assume its OS user, create its
// output file as that user and take a file-size limit before exec, which posix_spawn cannot do.
// The server forks from a multi-threaded process, so between fork and exec the child makes only
// async-signal-safe calls, and everything it needs (argv, environment, user ids) is built before
// the fork. A close-on-exec pipe carries a setup failure (user switch, file creation, exec) back,
// so "cannot write to the directory" is told apart from "the program failed". stdin is one end of
// a socketpair, so a child that stops reading cannot raise SIGPIPE in this process (send with
// MSG_NOSIGNAL).
#include "core/process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include "core/error.hpp"

extern char** environ;

namespace datafix::process {

namespace {

// After SIGTERM, how long a program may take to clean up before SIGKILL.
constexpr std::chrono::milliseconds kKillGrace{2000};
// After the child exited, how long descendants that left its group may keep the pipes open.
constexpr std::chrono::milliseconds kDrainLimit{200};
constexpr std::chrono::milliseconds kTick{20};

struct SetupFailure {
    int stage = 0;
    int error = 0;
};

struct UserIds {
    bool switch_user = false;
    uid_t uid = 0;
    gid_t gid = 0;
};

UserIds lookup_user(const std::string& name) {
    UserIds ids;
    if (name.empty()) {
        return ids;
    }
    const passwd* pw = ::getpwnam(name.c_str());
    if (pw == nullptr) {
        throw Error(ErrorCode::config, "OS user \"" + name + "\" does not exist",
                    "create the user or change the os_user setting");
    }
    ids.uid = pw->pw_uid;
    ids.gid = pw->pw_gid;
    ids.switch_user = ids.uid != ::geteuid();
    if (ids.switch_user && ::geteuid() != 0) {
        throw Error(ErrorCode::config,
                    "os_user \"" + name + "\" is set but datafix does not run as root",
                    "remove os_user, or run the datafix server as root");
    }
    return ids;
}

std::vector<char*> pointers(const std::vector<std::string>& strings) {
    std::vector<char*> out;
    out.reserve(strings.size() + 1);
    for (const auto& s : strings) {
        out.push_back(const_cast<char*>(s.c_str()));
    }
    out.push_back(nullptr);
    return out;
}

std::uint64_t file_size(const std::string& path) {
    struct stat st {};
    if (path.empty() || ::stat(path.c_str(), &st) != 0) {
        return 0;
    }
    return static_cast<std::uint64_t>(st.st_size);
}

void close_fd(int& fd) {
    if (fd >= 0) {
        ::close(fd);
        fd = -1;
    }
}

// Everything the child needs, prepared before fork.
struct ChildPlan {
    std::vector<char*> argv;
    std::vector<char*> envp;
    const char* stdout_file = nullptr;
    UserIds user;
    std::uint64_t max_file_bytes = 0;
    std::uint64_t max_stack_bytes = 0;
    int stdin_fd = -1;  // -1: /dev/null
    int stdout_fd = -1;
    int stderr_fd = -1;
    int report_fd = -1;
    pid_t parent = 0;
};

[[noreturn]] void child_fail(int report_fd, Stage stage) {
    SetupFailure f{static_cast<int>(stage), errno};
    [[maybe_unused]] ssize_t n = ::write(report_fd, &f, sizeof f);
    ::_exit(127);
}

// Runs in the child between fork and exec: async-signal-safe calls only, no allocation.
[[noreturn]] void become_child(const ChildPlan& plan) {
    ::setpgid(0, 0);
    // The server's signal mask and ignored signals (SIGPIPE) are not the program's business.
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    int in = plan.stdin_fd >= 0 ? plan.stdin_fd : ::open("/dev/null", O_RDONLY);
    ::dup2(in, 0);
    if (plan.user.switch_user) {
        if (::setgroups(0, nullptr) != 0 || ::setgid(plan.user.gid) != 0 ||
            ::setuid(plan.user.uid) != 0) {
            child_fail(plan.report_fd, Stage::user_switch);
        }
    }
    // The child dies with this process (strictly: with the thread that started it, which waits for
    // it), so a server killed mid-backup leaves no pg_dump writing on. Set after the user switch,
    // which clears it; a parent that is already gone is caught by getppid.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != plan.parent) {
        ::_exit(127);
    }
    int out = plan.stdout_fd;
    if (plan.stdout_file != nullptr) {
        out = ::open(plan.stdout_file, O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (out < 0) {
            child_fail(plan.report_fd, Stage::create_file);
        }
    }
    ::dup2(out, 1);
    ::dup2(plan.stderr_fd, 2);
    if (plan.max_file_bytes > 0) {
        rlimit limit{plan.max_file_bytes, plan.max_file_bytes};
        ::setrlimit(RLIMIT_FSIZE, &limit);
        // A write past the limit then fails with EFBIG instead of killing the program silently,
        // so the program reports it.
        ::signal(SIGXFSZ, SIG_IGN);
    }
    if (plan.max_stack_bytes > 0) {
        rlimit limit{plan.max_stack_bytes, plan.max_stack_bytes};
        ::setrlimit(RLIMIT_STACK, &limit);
    }
    // Every descriptor above 2 closes at exec; the report pipe stays open until then.
    ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    ::execve(plan.argv[0], plan.argv.data(), plan.envp.data());
    child_fail(plan.report_fd, Stage::exec);
}

// Appends and keeps only the last `limit` bytes.
void keep_tail(std::string& sink, const char* data, std::size_t n, std::size_t limit,
               bool& truncated) {
    sink.append(data, n);
    if (sink.size() > 2 * limit) {
        sink.erase(0, sink.size() - limit);
        truncated = true;
    }
}

void trim_tail(std::string& sink, std::size_t limit, bool& truncated) {
    if (sink.size() > limit) {
        sink.erase(0, sink.size() - limit);
        truncated = true;
    }
}

class Pipes {
  public:
    ~Pipes() {
        for (int* fd : {&in_parent, &in_child, &out_parent, &out_child, &err_parent, &err_child,
                        &report_parent, &report_child}) {
            close_fd(*fd);
        }
    }
    void open(bool with_input, bool with_stdout) {
        std::array<int, 2> fds{-1, -1};
        if (with_input) {
            if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds.data()) != 0) {
                fail("a socket pair");
            }
            in_parent = fds[0];
            in_child = fds[1];
            ::shutdown(in_parent, SHUT_RD);
            ::fcntl(in_parent, F_SETFL, O_NONBLOCK);
        }
        if (with_stdout) {
            make_pipe(out_parent, out_child);
        }
        make_pipe(err_parent, err_child);
        make_pipe(report_parent, report_child);
    }
    void close_child_ends() {
        close_fd(in_child);
        close_fd(out_child);
        close_fd(err_child);
        close_fd(report_child);
    }

    int in_parent = -1, in_child = -1;
    int out_parent = -1, out_child = -1;
    int err_parent = -1, err_child = -1;
    int report_parent = -1, report_child = -1;

  private:
    static void make_pipe(int& read_end, int& write_end) {
        std::array<int, 2> fds{-1, -1};
        if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
            fail("a pipe");
        }
        read_end = fds[0];
        write_end = fds[1];
    }
    [[noreturn]] static void fail(const char* what) {
        throw Error(
            ErrorCode::internal,
            std::string("cannot create ") + what + " for a child process: " + std::strerror(errno),
            "the server may be out of file descriptors; check its limits");
    }
};

std::optional<SetupFailure> read_setup_report(int fd) {
    SetupFailure failure;
    ssize_t got = 0;
    do {
        got = ::read(fd, &failure, sizeof failure);
    } while (got < 0 && errno == EINTR);
    if (got == static_cast<ssize_t>(sizeof failure)) {
        return failure;
    }
    return std::nullopt;
}

void record_status(int wstatus, Result& result) {
    if (WIFEXITED(wstatus)) {
        result.exit_status = WEXITSTATUS(wstatus);
    } else if (WIFSIGNALED(wstatus)) {
        result.signal = WTERMSIG(wstatus);
        result.exit_status = 128 + result.signal;
    }
}

// Moves stdin, stdout and stderr until the child has exited and its pipes are drained.
class Conversation {
  public:
    Conversation(const Spec& spec, const Watch& watch, Pipes& pipes, pid_t pid, Result& result)
        : spec_(spec), watch_(watch), pipes_(pipes), pid_(pid), result_(result) {}

    void run() {
        const auto started = std::chrono::steady_clock::now();
        const std::string& watched =
            watch_.watched_file.empty() ? spec_.stdout_file : watch_.watched_file;
        auto last_report = started;
        std::optional<std::chrono::steady_clock::time_point> killed_at;
        std::optional<std::chrono::steady_clock::time_point> exited_at;
        int wstatus = 0;
        for (;;) {
            const auto now = std::chrono::steady_clock::now();
            if (!exited_at) {
                pid_t done = 0;
                do {
                    done = ::waitpid(pid_, &wstatus, WNOHANG);
                } while (done < 0 && errno == EINTR);
                if (done == pid_ || done < 0) {
                    exited_at = now;
                    // Whatever the program left running in its group goes too.
                    ::kill(-pid_, SIGKILL);
                    close_fd(pipes_.in_parent);
                }
            }
            if (exited_at && (open_streams() == 0 || now - *exited_at > kDrainLimit)) {
                break;
            }
            if (!exited_at) {
                const auto elapsed =
                    std::chrono::duration_cast<std::chrono::milliseconds>(now - started);
                if (!killed_at && watch_.cancel != nullptr && watch_.cancel->load()) {
                    result_.cancelled = true;
                    killed_at = now;
                    ::kill(-pid_, SIGTERM);
                } else if (!killed_at && spec_.deadline.count() > 0 && elapsed >= spec_.deadline) {
                    result_.timed_out = true;
                    killed_at = now;
                    ::kill(-pid_, SIGTERM);
                } else if (killed_at && now - *killed_at > kKillGrace) {
                    ::kill(-pid_, SIGKILL);
                }
                if (watch_.on_progress && now - last_report >= watch_.interval) {
                    watch_.on_progress(file_size(watched), elapsed);
                    last_report = now;
                }
            }
            exchange(kTick);
        }
        record_status(wstatus, result_);
        trim_tail(result_.out, spec_.max_output_bytes, result_.out_truncated);
        trim_tail(result_.err, spec_.max_output_bytes, result_.err_truncated);
        if (watch_.on_progress) {
            watch_.on_progress(file_size(watched),
                               std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now() - started));
        }
    }

  private:
    int open_streams() const { return (pipes_.out_parent >= 0) + (pipes_.err_parent >= 0); }

    // One poll round: feed stdin, collect stdout and stderr, for at most `wait`.
    void exchange(std::chrono::milliseconds wait) {
        std::array<pollfd, 3> fds{pollfd{pipes_.in_parent, POLLOUT, 0},
                                  pollfd{pipes_.out_parent, POLLIN, 0},
                                  pollfd{pipes_.err_parent, POLLIN, 0}};
        if (::poll(fds.data(), fds.size(), static_cast<int>(wait.count())) <= 0) {
            return;
        }
        if (fds[0].fd >= 0 && fds[0].revents != 0) {
            feed_input();
        }
        collect(fds[1], pipes_.out_parent, result_.out, result_.out_truncated);
        collect(fds[2], pipes_.err_parent, result_.err, result_.err_truncated);
    }

    void feed_input() {
        while (written_ < spec_.input.size()) {
            const ssize_t n = ::send(pipes_.in_parent, spec_.input.data() + written_,
                                     spec_.input.size() - written_, MSG_NOSIGNAL);
            if (n > 0) {
                written_ += static_cast<std::size_t>(n);
                continue;
            }
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                return;
            }
            break;  // the child stopped reading: what it does with that is its answer
        }
        close_fd(pipes_.in_parent);
    }

    void collect(const pollfd& p, int& fd, std::string& sink, bool& truncated) {
        if (fd < 0 || p.revents == 0) {
            return;
        }
        std::array<char, 16384> buffer{};
        const ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n > 0) {
            keep_tail(sink, buffer.data(), static_cast<std::size_t>(n), spec_.max_output_bytes,
                      truncated);
            return;
        }
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
            return;
        }
        close_fd(fd);
    }

    const Spec& spec_;
    const Watch& watch_;
    Pipes& pipes_;
    pid_t pid_;
    Result& result_;
    std::size_t written_ = 0;
};

}  // namespace

std::string Result::setup_failure(const Spec& spec) const {
    const std::string program = spec.argv.empty() ? std::string("(nothing)") : spec.argv[0];
    const std::string why = std::strerror(setup_errno);
    switch (stage) {
        case Stage::ran:
            return {};
        case Stage::user_switch:
            return "cannot run " + program + " as OS user " + spec.os_user + ": " + why;
        case Stage::create_file:
            return "cannot create " + spec.stdout_file + " for " + program + ": " + why;
        case Stage::exec:
            return "cannot execute " + program + ": " + why;
    }
    return {};
}

Result run(const Spec& spec, const Watch& watch) {
    if (spec.argv.empty() || spec.argv.front().empty() || spec.argv.front()[0] != '/') {
        throw Error(ErrorCode::internal,
                    "a child program must be named by an absolute path, not \"" +
                        (spec.argv.empty() ? std::string() : spec.argv.front()) + "\"");
    }
    ChildPlan plan;
    plan.user = lookup_user(spec.os_user);
    plan.argv = pointers(spec.argv);
    plan.envp = pointers(spec.environment);
    plan.stdout_file = spec.stdout_file.empty() ? nullptr : spec.stdout_file.c_str();
    plan.max_file_bytes = spec.max_file_bytes;
    plan.max_stack_bytes = spec.max_stack_bytes;

    Pipes pipes;
    pipes.open(!spec.input.empty(), spec.stdout_file.empty());
    plan.stdin_fd = pipes.in_child;
    plan.stdout_fd = pipes.out_child;
    plan.stderr_fd = pipes.err_child;
    plan.report_fd = pipes.report_child;
    plan.parent = ::getpid();

    const pid_t pid = ::fork();
    if (pid < 0) {
        throw Error(
            ErrorCode::internal,
            "cannot start " + command_text(spec.argv) + ": fork failed: " + std::strerror(errno),
            "the server may be out of memory or processes; check its limits");
    }
    if (pid == 0) {
        become_child(plan);
    }
    ::setpgid(pid, pid);  // also here, so a kill before the child ran setpgid still hits it
    pipes.close_child_ends();

    Result result;
    if (auto failure = read_setup_report(pipes.report_parent)) {
        result.stage = static_cast<Stage>(failure->stage);
        result.setup_errno = failure->error;
        int wstatus = 0;
        while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
        }
        record_status(wstatus, result);
        return result;
    }
    Conversation(spec, watch, pipes, pid, result).run();
    return result;
}

std::vector<std::string> current_environment() {
    std::vector<std::string> out;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        out.emplace_back(*e);
    }
    return out;
}

std::string command_text(const std::vector<std::string>& argv) {
    std::string out;
    for (std::size_t i = 0; i < argv.size(); ++i) {
        const std::string& arg =
            i == 0 ? std::filesystem::path(argv[0]).filename().string() : argv[i];
        out += (i == 0 ? "" : " ") + arg;
    }
    return out;
}

}  // namespace datafix::process
