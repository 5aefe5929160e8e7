// posix_spawn for every child, with its own process group, the signal mask and dispositions reset,
// stdin, stdout and stderr set up and every other descriptor closed (closefrom), all done by glibc
// in the child without running code of ours there. A stdout_file is created here (O_EXCL, 0600),
// as the same user the child runs as.
//
// What posix_spawn cannot express takes a fork path: switching to another OS user (and creating
// the output file as that user) and resource limits (RLIMIT_FSIZE for a backup's size limit,
// RLIMIT_STACK for the guard worker). Between fork and exec that child makes only
// async-signal-safe calls, since the server forks from a multi-threaded process, and everything it
// needs (argv, environment, user ids) is built before the fork; a close-on-exec pipe carries a
// setup failure (user switch, file creation, exec) back, so "cannot write to the directory" is told
// apart from "the program failed".
//
// Either way the child's group is registered with the keeper (process_keeper.hpp), which kills it
// when this process dies. stdin is one end of a socketpair, so a child that stops reading cannot
// raise SIGPIPE in this process (send with MSG_NOSIGNAL).
#include "core/process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>  // NOLINT(modernize-deprecated-headers): POSIX kill, sigprocmask
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string_view>
#include <utility>

#include "core/error.hpp"
#include "core/process_keeper.hpp"

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

// Everything the child needs, prepared before it is started.
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
    int report_fd = -1;  // fork path only
};

struct Launch {
    pid_t pid = -1;
    Stage stage = Stage::ran;
    int error = 0;
};

[[noreturn]] void child_fail(int report_fd, Stage stage) {
    SetupFailure f{static_cast<int>(stage), errno};
    [[maybe_unused]] ssize_t n = ::write(report_fd, &f, sizeof f);
    ::_exit(127);
}

// Runs in the forked child between fork and exec: async-signal-safe calls only, no allocation.
[[noreturn]] void become_child(const ChildPlan& plan) {
    ::setpgid(0, 0);
    // The server's signal mask and its handled or ignored signals (SIGPIPE) are not the program's
    // business.
    for (int sig = 1; sig < NSIG; ++sig) {
        ::signal(sig, SIG_DFL);
    }
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    int in = plan.stdin_fd >= 0 ? plan.stdin_fd : ::open("/dev/null", O_RDONLY);
    ::dup2(in, 0);
    if (plan.user.switch_user) {
        if (::setgroups(0, nullptr) != 0 || ::setgid(plan.user.gid) != 0 ||
            ::setuid(plan.user.uid) != 0) {
            child_fail(plan.report_fd, Stage::user_switch);
        }
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

[[noreturn]] void cannot_start(const ChildPlan& plan, const char* what) {
    const int error = errno;
    std::vector<std::string> argv;
    for (char* const* a = plan.argv.data(); *a != nullptr; ++a) {
        argv.emplace_back(*a);
    }
    throw Error(ErrorCode::internal,
                "cannot start " + command_text(argv) + ": " + what + ": " + std::strerror(error),
                "the server may be out of memory, processes or file descriptors; check its limits");
}

Launch launch_forked(const ChildPlan& prepared) {
    ChildPlan plan = prepared;
    std::array<int, 2> report{-1, -1};
    if (::pipe2(report.data(), O_CLOEXEC) != 0) {
        cannot_start(plan, "pipe failed");
    }
    plan.report_fd = report[1];
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(report[0]);
        ::close(report[1]);
        cannot_start(plan, "fork failed");
    }
    if (pid == 0) {
        become_child(plan);
    }
    ::setpgid(pid, pid);  // also here, so a kill before the child ran setpgid still hits it
    keeper::guard(pid);
    ::close(report[1]);
    const std::optional<SetupFailure> failure = read_setup_report(report[0]);
    ::close(report[0]);
    if (!failure) {
        return Launch{pid, Stage::ran, 0};
    }
    // The child has exited (or is about to): reap it, its group is empty.
    int wstatus = 0;
    while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    keeper::release(pid);
    return Launch{-1, static_cast<Stage>(failure->stage), failure->error};
}

// posix_spawn's own objects, destroyed on every path.
class SpawnSetup {
  public:
    SpawnSetup() {
        ::posix_spawn_file_actions_init(&actions);
        ::posix_spawnattr_init(&attributes);
    }
    ~SpawnSetup() {
        ::posix_spawn_file_actions_destroy(&actions);
        ::posix_spawnattr_destroy(&attributes);
    }
    SpawnSetup(const SpawnSetup&) = delete;
    SpawnSetup& operator=(const SpawnSetup&) = delete;

    posix_spawn_file_actions_t actions{};
    posix_spawnattr_t attributes{};
};

Launch launch_spawned(const ChildPlan& plan) {
    int out = plan.stdout_fd;
    int file = -1;
    if (plan.stdout_file != nullptr) {
        // The same user as the child's, so the directory's permissions say the same to both.
        file = ::open(plan.stdout_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (file < 0) {
            return Launch{-1, Stage::create_file, errno};
        }
        out = file;
    }
    SpawnSetup setup;
    int rc = plan.stdin_fd >= 0
                 ? ::posix_spawn_file_actions_adddup2(&setup.actions, plan.stdin_fd, 0)
                 : ::posix_spawn_file_actions_addopen(&setup.actions, 0, "/dev/null", O_RDONLY, 0);
    rc = rc != 0 ? rc : ::posix_spawn_file_actions_adddup2(&setup.actions, out, 1);
    rc = rc != 0 ? rc : ::posix_spawn_file_actions_adddup2(&setup.actions, plan.stderr_fd, 2);
    // Whatever this process holds without close-on-exec (a library's socket, a log file).
    rc = rc != 0 ? rc : ::posix_spawn_file_actions_addclosefrom_np(&setup.actions, 3);
    sigset_t none;
    sigset_t all;
    ::sigemptyset(&none);
    ::sigfillset(&all);
    rc = rc != 0 ? rc
                 : ::posix_spawnattr_setflags(&setup.attributes, POSIX_SPAWN_SETPGROUP |
                                                                     POSIX_SPAWN_SETSIGMASK |
                                                                     POSIX_SPAWN_SETSIGDEF);
    rc = rc != 0 ? rc : ::posix_spawnattr_setpgroup(&setup.attributes, 0);
    rc = rc != 0 ? rc : ::posix_spawnattr_setsigmask(&setup.attributes, &none);
    rc = rc != 0 ? rc : ::posix_spawnattr_setsigdefault(&setup.attributes, &all);
    if (rc != 0) {
        if (file >= 0) {
            ::close(file);
        }
        errno = rc;
        cannot_start(plan, "posix_spawn setup failed");
    }
    pid_t pid = -1;
    rc = ::posix_spawn(&pid, plan.argv[0], &setup.actions, &setup.attributes, plan.argv.data(),
                       plan.envp.data());
    if (file >= 0) {
        ::close(file);
    }
    if (rc != 0) {
        // glibc reports the exec's error and has reaped the child itself.
        return Launch{-1, Stage::exec, rc};
    }
    keeper::guard(pid);
    return Launch{pid, Stage::ran, 0};
}

Launch launch(const ChildPlan& plan) {
    const bool needs_fork =
        plan.user.switch_user || plan.max_file_bytes > 0 || plan.max_stack_bytes > 0;
    return needs_fork ? launch_forked(plan) : launch_spawned(plan);
}

ChildPlan plan_for(const Spec& spec) {
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
    return plan;
}

// True once the child has exited; leaves it a zombie (WNOWAIT), so its pid and group id stay
// taken until reap().
bool has_exited(pid_t pid) {
    siginfo_t info{};
    int r = 0;
    do {
        r = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
    } while (r < 0 && errno == EINTR);
    return r < 0 || info.si_pid == pid;
}

// Kills what the child left in its group, tells the keeper, and reaps the child.
int reap(pid_t pid) {
    ::kill(-pid, SIGKILL);
    keeper::release(pid);
    int wstatus = 0;
    pid_t r = 0;
    do {
        r = ::waitpid(pid, &wstatus, 0);
    } while (r < 0 && errno == EINTR);
    return r == pid ? wstatus : -1;
}

void record_status(int wstatus, Result& result) {
    if (wstatus == -1) {
        return;  // reaped by someone else: nothing known
    }
    if (WIFEXITED(wstatus)) {
        result.exit_status = WEXITSTATUS(wstatus);
    } else if (WIFSIGNALED(wstatus)) {
        result.signal = WTERMSIG(wstatus);
        result.exit_status = 128 + result.signal;
    }
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

// Cuts one stream into lines for Watch::on_line, holding at most max_line_bytes.
class LineSplitter {
  public:
    LineSplitter(const Watch& watch, Stream stream) : watch_(watch), stream_(stream) {}

    void feed(const char* data, std::size_t n) {
        if (!watch_.on_line) {
            return;
        }
        const std::size_t limit = std::max<std::size_t>(watch_.max_line_bytes, 1);
        std::string_view rest(data, n);
        while (!rest.empty()) {
            if (rest.front() == '\n') {
                rest.remove_prefix(1);
                emit();
                continue;
            }
            // A full buffer is handed over only when the line goes on, so a line of exactly
            // `limit` bytes arrives once, not followed by an empty one.
            if (pending_.size() >= limit) {
                emit();
            }
            const std::size_t take =
                std::min(std::min(rest.find('\n'), rest.size()), limit - pending_.size());
            pending_.append(rest.substr(0, take));
            rest.remove_prefix(take);
        }
    }
    void finish() {
        if (watch_.on_line && !pending_.empty()) {
            emit();
        }
    }

  private:
    void emit() {
        watch_.on_line(stream_, pending_);
        pending_.clear();
    }

    const Watch& watch_;
    Stream stream_;
    std::string pending_;
};

class Pipes {
  public:
    ~Pipes() {
        for (int* fd : {&in_parent, &in_child, &out_parent, &out_child, &err_parent, &err_child}) {
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
    }
    void close_child_ends() {
        close_fd(in_child);
        close_fd(out_child);
        close_fd(err_child);
    }

    int in_parent = -1, in_child = -1;
    int out_parent = -1, out_child = -1;
    int err_parent = -1, err_child = -1;

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

// Moves stdin, stdout and stderr until the child has exited and its pipes are drained.
class Conversation {
  public:
    Conversation(const Spec& spec, const Watch& watch, Pipes& pipes, pid_t pid, Result& result)
        : spec_(spec),
          watch_(watch),
          pipes_(pipes),
          pid_(pid),
          result_(result),
          out_lines_(watch, Stream::out),
          err_lines_(watch, Stream::err) {}

    void run() {
        const auto started = std::chrono::steady_clock::now();
        const std::string& watched =
            watch_.watched_file.empty() ? spec_.stdout_file : watch_.watched_file;
        auto last_report = started;
        std::optional<std::chrono::steady_clock::time_point> killed_at;
        std::optional<std::chrono::steady_clock::time_point> exited_at;
        for (;;) {
            const auto now = std::chrono::steady_clock::now();
            if (!exited_at && has_exited(pid_)) {
                exited_at = now;
                // Whatever the program left running in its group goes too.
                ::kill(-pid_, SIGKILL);
                close_fd(pipes_.in_parent);
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
        record_status(reap(pid_), result_);
        out_lines_.finish();
        err_lines_.finish();
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
        collect(fds[1], pipes_.out_parent, result_.out, result_.out_truncated, out_lines_);
        collect(fds[2], pipes_.err_parent, result_.err, result_.err_truncated, err_lines_);
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

    void collect(const pollfd& p, int& fd, std::string& sink, bool& truncated,
                 LineSplitter& lines) {
        if (fd < 0 || p.revents == 0) {
            return;
        }
        std::array<char, 16384> buffer{};
        const ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n > 0) {
            keep_tail(sink, buffer.data(), static_cast<std::size_t>(n), spec_.max_output_bytes,
                      truncated);
            lines.feed(buffer.data(), static_cast<std::size_t>(n));
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
    LineSplitter out_lines_;
    LineSplitter err_lines_;
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
    ChildPlan plan = plan_for(spec);
    const bool own_output = spec.output_fd < 0;
    Pipes pipes;
    pipes.open(!spec.input.empty(), own_output && spec.stdout_file.empty());
    plan.stdin_fd = pipes.in_child;
    plan.stdout_fd = own_output ? pipes.out_child : spec.output_fd;
    plan.stderr_fd = own_output ? pipes.err_child : spec.output_fd;
    if (!own_output) {
        close_fd(pipes.err_parent);
    }

    const Launch launched = launch(plan);
    pipes.close_child_ends();
    Result result;
    if (launched.stage != Stage::ran) {
        result.stage = launched.stage;
        result.setup_errno = launched.error;
        result.exit_status = 127;
        return result;
    }
    Conversation(spec, watch, pipes, launched.pid, result).run();
    return result;
}

Child::Child(const Spec& spec) {
    if (!spec.input.empty() || spec.deadline.count() > 0) {
        throw Error(ErrorCode::internal, "a long-running child takes neither input nor deadline");
    }
    ChildPlan plan = plan_for(spec);
    int devnull = -1;
    if (spec.output_fd < 0) {
        devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    }
    plan.stdout_fd = spec.output_fd >= 0 ? spec.output_fd : devnull;
    plan.stderr_fd = plan.stdout_fd;
    Launch launched;
    try {
        launched = launch(plan);
    } catch (...) {
        close_fd(devnull);
        throw;
    }
    close_fd(devnull);
    if (launched.stage != Stage::ran) {
        Result failed;
        failed.stage = launched.stage;
        failed.setup_errno = launched.error;
        throw Error(ErrorCode::config, failed.setup_failure(spec),
                    "check that the program exists and is executable by the datafix server");
    }
    pid_ = launched.pid;
}

Child::~Child() {
    stop();
}

Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), exit_status_(other.exit_status_) {}

Child& Child::operator=(Child&& other) noexcept {
    if (this != &other) {
        stop();
        pid_ = std::exchange(other.pid_, -1);
        exit_status_ = other.exit_status_;
    }
    return *this;
}

void Child::finish(int wstatus) noexcept {
    Result status;
    record_status(wstatus, status);
    exit_status_ = wstatus == -1 ? 128 + SIGKILL : status.exit_status;
    pid_ = -1;  // reaped: the id may now be someone else's, never signal it again
}

bool Child::running() noexcept {
    if (pid_ < 0) {
        return false;
    }
    if (!has_exited(pid_)) {
        return true;
    }
    finish(reap(pid_));
    return false;
}

void Child::stop(std::chrono::milliseconds grace) noexcept {
    if (pid_ < 0) {
        return;
    }
    // Not reaped yet, so the group id still belongs to this child.
    ::kill(-pid_, SIGTERM);
    const auto until = std::chrono::steady_clock::now() + grace;
    while (!has_exited(pid_) && std::chrono::steady_clock::now() < until) {
        ::poll(nullptr, 0, 10);
    }
    finish(reap(pid_));  // SIGKILL to the group first, so this never waits on a stuck child
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
