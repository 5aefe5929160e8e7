// fork/exec of the cluster client with a deadline. Between fork and exec only async-signal-safe
// calls are made, because the server forks from a multi-threaded process.
#include "discover/client_command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "core/error.hpp"

namespace datafix::discover {

namespace {

// A pod list of a few hundred pods is well below this; a client that prints more is broken and
// must not exhaust the server's memory.
constexpr std::size_t kMaxOutput = 16 * 1024 * 1024;

bool is_executable_file(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
           ::access(path.c_str(), X_OK) == 0;
}

int wait_for(pid_t pid) {
    int wstatus = 0;
    while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
}

}  // namespace

std::string find_client(std::string_view client, std::string_view search_path) {
    const std::string name(client);
    if (name.find('/') != std::string::npos) {
        if (is_executable_file(name)) {
            return name;
        }
        throw Error(ErrorCode::config, "the cluster client " + name + " is not an executable file",
                    "install it or fix `client` in the environment's openshift/kubernetes table");
    }
    std::string path(search_path);
    if (path.empty()) {
        const char* env = std::getenv("PATH");
        path = env != nullptr ? env : "";
    }
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t colon = path.find(':', start);
        if (colon == std::string::npos) {
            colon = path.size();
        }
        const std::string dir = path.substr(start, colon - start);
        start = colon + 1;
        if (dir.empty()) {
            continue;  // an empty PATH entry means "."; a server must not run what lies there
        }
        const std::string candidate = (std::filesystem::path(dir) / name).string();
        if (is_executable_file(candidate)) {
            return candidate;
        }
    }
    throw Error(ErrorCode::config,
                "the cluster client \"" + name + "\" was not found on PATH (" + path + ")",
                "install " + name +
                    " on the datafix server or set `client` to its full path in "
                    "the environment's openshift/kubernetes table");
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

std::vector<char*> exec_argv(const std::vector<std::string>& argv) {
    std::vector<char*> args(argv.size() + 1, nullptr);
    std::transform(argv.begin(), argv.end(), args.begin(),
                   [](const std::string& a) { return const_cast<char*>(a.c_str()); });
    return args;
}

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
    std::vector<char*> args = exec_argv(argv);

    std::array<int, 2> out_pipe{-1, -1};
    std::array<int, 2> err_pipe{-1, -1};
    if (::pipe2(out_pipe.data(), O_CLOEXEC) != 0 || ::pipe2(err_pipe.data(), O_CLOEXEC) != 0) {
        throw Error(ErrorCode::internal, "cannot create a pipe for " + command_text(argv));
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
        for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) {
            ::close(fd);
        }
        throw Error(ErrorCode::internal, "cannot start " + command_text(argv) + " (fork failed)");
    }
    if (pid == 0) {
        // Its own process group, so a deadline kills whatever the client started too (credential
        // plugins, for instance).
        ::setpgid(0, 0);
        const int devnull = ::open("/dev/null", O_RDONLY);
        ::dup2(devnull, 0);
        ::dup2(out_pipe[1], 1);
        ::dup2(err_pipe[1], 2);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    ::setpgid(pid, pid);  // also here: whichever runs first, the group exists before any kill
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);

    CommandResult result;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::array<pollfd, 2> fds{pollfd{out_pipe[0], POLLIN, 0}, pollfd{err_pipe[0], POLLIN, 0}};
    std::array<std::string*, 2> sinks{&result.out, &result.err};
    int open_fds = 2;
    while (open_fds > 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || result.out.size() + result.err.size() > kMaxOutput) {
            result.timed_out = left.count() <= 0;
            ::kill(-pid, SIGKILL);
            break;
        }
        if (::poll(fds.data(), fds.size(), static_cast<int>(left.count())) < 0 && errno != EINTR) {
            ::kill(-pid, SIGKILL);
            break;
        }
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0) {
                continue;
            }
            std::array<char, 8192> buffer{};
            const ssize_t n = ::read(fds[i].fd, buffer.data(), buffer.size());
            if (n > 0) {
                sinks[i]->append(buffer.data(), static_cast<std::size_t>(n));
                continue;
            }
            if (n < 0 && errno == EINTR) {
                continue;
            }
            ::close(fds[i].fd);
            fds[i].fd = -1;
            --open_fds;
        }
    }
    for (const auto& fd : fds) {
        if (fd.fd >= 0) {
            ::close(fd.fd);
        }
    }
    result.exit_status = wait_for(pid);
    return result;
}

}  // namespace datafix::discover
