// fork/exec with a close-on-exec pipe that carries the child's setup failure (user switch, file
// creation, exec) back to the parent, so "cannot write to the directory" is told apart from
// "the program failed".
#include "backup/child_process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <thread>

#include "core/error.hpp"

namespace datafix::backup {

namespace {

constexpr std::size_t kCaptureLimit = 64 * 1024;
// After SIGTERM, how long a program may take to clean up before SIGKILL.
constexpr std::chrono::milliseconds kKillGrace{2000};

struct SetupFailure {
    int stage = 0;
    int error = 0;
};

int anonymous_temp_file() {
    int fd = ::open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
        throw Error(ErrorCode::internal,
                    std::string("cannot create a temporary file in /tmp: ") + std::strerror(errno),
                    "check that /tmp exists and is writable");
    }
    return fd;
}

std::string read_tail(int fd) {
    off_t size = ::lseek(fd, 0, SEEK_END);
    if (size <= 0) {
        return {};
    }
    off_t start = size > static_cast<off_t>(kCaptureLimit) ? size - kCaptureLimit : 0;
    std::string text(static_cast<std::size_t>(size - start), '\0');
    ssize_t got = ::pread(fd, text.data(), text.size(), start);
    text.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
    return text;
}

std::uint64_t file_size(const std::string& path) {
    struct stat st {};
    if (path.empty() || ::stat(path.c_str(), &st) != 0) {
        return 0;
    }
    return static_cast<std::uint64_t>(st.st_size);
}

// Only async-signal-safe calls between fork and exec.
[[noreturn]] void child_fail(int pipe_fd, ChildStage stage) {
    SetupFailure f{static_cast<int>(stage), errno};
    [[maybe_unused]] ssize_t n = ::write(pipe_fd, &f, sizeof f);
    ::_exit(127);
}

struct UserIds {
    bool switch_user = false;
    uid_t uid = 0;
    gid_t gid = 0;
    std::string name;
};

UserIds lookup_user(const std::string& name) {
    UserIds ids;
    if (name.empty()) {
        return ids;
    }
    const passwd* pw = ::getpwnam(name.c_str());
    if (pw == nullptr) {
        throw Error(ErrorCode::config, "backup OS user \"" + name + "\" does not exist",
                    "create the user or change the backup's os_user setting");
    }
    ids.name = name;
    ids.uid = pw->pw_uid;
    ids.gid = pw->pw_gid;
    ids.switch_user = ids.uid != ::geteuid();
    if (ids.switch_user && ::geteuid() != 0) {
        throw Error(ErrorCode::config,
                    "backup os_user \"" + name + "\" is set but datafix does not run as root",
                    "remove os_user, or run the datafix server as root");
    }
    return ids;
}

}  // namespace

ChildResult run_child(const ChildSpec& spec, const ChildWatch& watch) {
    const UserIds user = lookup_user(spec.os_user);
    int out_fd = spec.stdout_file.empty() ? anonymous_temp_file() : -1;
    int err_fd = anonymous_temp_file();
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
        throw Error(ErrorCode::internal, std::string("pipe failed: ") + std::strerror(errno));
    }

    std::vector<char*> args;
    for (const auto& a : spec.argv) {
        args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);

    const auto started = std::chrono::steady_clock::now();
    pid_t pid = ::fork();
    if (pid < 0) {
        throw Error(ErrorCode::internal, std::string("fork failed: ") + std::strerror(errno));
    }
    if (pid == 0) {
        ::setpgid(0, 0);
        ::close(pipe_fds[0]);
        int null_fd = ::open("/dev/null", O_RDONLY);
        ::dup2(null_fd, 0);
        if (user.switch_user) {
            if (::setgroups(0, nullptr) != 0 || ::setgid(user.gid) != 0 ||
                ::setuid(user.uid) != 0) {
                child_fail(pipe_fds[1], ChildStage::user_switch);
            }
        }
        if (!spec.stdout_file.empty()) {
            out_fd = ::open(spec.stdout_file.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
            if (out_fd < 0) {
                child_fail(pipe_fds[1], ChildStage::create_file);
            }
        }
        ::dup2(out_fd, 1);
        ::dup2(err_fd, 2);
        if (spec.max_file_bytes > 0) {
            rlimit limit{spec.max_file_bytes, spec.max_file_bytes};
            ::setrlimit(RLIMIT_FSIZE, &limit);
            // A write past the limit then fails with EFBIG instead of killing the program
            // silently, so pg_dump reports it.
            ::signal(SIGXFSZ, SIG_IGN);
        }
        ::execv(args[0], args.data());
        child_fail(pipe_fds[1], ChildStage::exec);
    }
    ::setpgid(pid, pid);  // also here, so a kill before the child ran setpgid still hits it
    ::close(pipe_fds[1]);

    ChildResult result;
    SetupFailure failure;
    ssize_t got = 0;
    do {
        got = ::read(pipe_fds[0], &failure, sizeof failure);
    } while (got < 0 && errno == EINTR);
    ::close(pipe_fds[0]);
    if (got == static_cast<ssize_t>(sizeof failure)) {
        result.stage = static_cast<ChildStage>(failure.stage);
        result.setup_errno = failure.error;
    }

    const std::string& watched = spec.watched_file.empty() ? spec.stdout_file : spec.watched_file;
    auto last_report = started;
    int wstatus = 0;
    std::optional<std::chrono::steady_clock::time_point> killed_at;
    for (;;) {
        pid_t done = ::waitpid(pid, &wstatus, WNOHANG);
        if (done == pid) {
            break;
        }
        const auto now = std::chrono::steady_clock::now();
        const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - started);
        if (!killed_at && watch.cancel != nullptr && watch.cancel->load()) {
            result.cancelled = true;
            killed_at = now;
            ::kill(-pid, SIGTERM);
        } else if (!killed_at && spec.timeout.count() > 0 && elapsed > spec.timeout) {
            result.timed_out = true;
            killed_at = now;
            ::kill(-pid, SIGTERM);
        } else if (killed_at && now - *killed_at > kKillGrace) {
            ::kill(-pid, SIGKILL);
        }
        if (watch.on_progress && now - last_report >= watch.interval) {
            watch.on_progress(file_size(watched), elapsed);
            last_report = now;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    // Anything the program left running in its group goes too.
    ::kill(-pid, SIGKILL);
    if (watch.on_progress && result.stage == ChildStage::ran) {
        watch.on_progress(file_size(watched), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                  std::chrono::steady_clock::now() - started));
    }
    if (WIFEXITED(wstatus)) {
        result.exit_status = WEXITSTATUS(wstatus);
    } else if (WIFSIGNALED(wstatus)) {
        result.signal = WTERMSIG(wstatus);
        result.exit_status = 128 + result.signal;
    }
    if (out_fd >= 0) {
        result.out = read_tail(out_fd);
        ::close(out_fd);
    }
    result.err = read_tail(err_fd);
    ::close(err_fd);
    return result;
}

}  // namespace datafix::backup
