// The port-forward process, its supervisor and the lifeline pipe (see port_forward.hpp for why).
// Everything between fork and exec, and the whole supervisor, uses async-signal-safe calls only:
// the server forks from a multi-threaded process.
#include "discover/port_forward.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <thread>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "discover/client_command.hpp"

namespace datafix::discover {

namespace {

constexpr int kStartAttempts = 3;  // a free port can be taken between choosing and binding it
constexpr int kGraceMs = 2000;     // SIGTERM to SIGKILL
constexpr std::size_t kOutputTail = 4096;

int free_loopback_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw Error(ErrorCode::internal, "cannot open a socket to choose a local port");
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    ::close(fd);
    if (!ok) {
        throw Error(ErrorCode::internal, "cannot find a free port on 127.0.0.1");
    }
    return ntohs(addr.sin_port);
}

bool accepts_connections(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

void sleep_ms(int ms) {
    ::poll(nullptr, 0, ms);
}

// Closes every descriptor above 2 except `keep_a` and `keep_b`, so the client inherits neither
// the server's listening socket nor its database connections nor other forwards' lifelines.
void close_other_fds(int keep_a, int keep_b) {
    unsigned next = 3;
    for (int keep : {std::min(keep_a, keep_b), std::max(keep_a, keep_b)}) {
        if (keep < 0 || static_cast<unsigned>(keep) < next) {
            continue;
        }
        if (static_cast<unsigned>(keep) > next) {
            ::close_range(next, static_cast<unsigned>(keep) - 1, 0);
        }
        next = static_cast<unsigned>(keep) + 1;
    }
    ::close_range(next, ~0U, 0);
}

int exit_status_of(int wstatus) {
    return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
}

// The supervisor: starts the client, then waits for either the client to end (it exits with the
// client's status) or the lifeline to close (it stops the client). Never returns.
[[noreturn]] void supervise(int lifeline, int output, char* const* argv) {
    ::signal(SIGTERM, SIG_IGN);  // the group's SIGTERM is meant for the client; this one reaps it
    ::signal(SIGINT, SIG_IGN);
    close_other_fds(lifeline, output);
    const pid_t client = ::fork();
    if (client < 0) {
        ::_exit(126);
    }
    if (client == 0) {
        ::signal(SIGTERM, SIG_DFL);
        ::signal(SIGINT, SIG_DFL);
        ::close(lifeline);
        const int devnull = ::open("/dev/null", O_RDONLY);
        ::dup2(devnull, 0);
        ::dup2(output, 1);
        ::dup2(output, 2);
        if (output > 2) {
            ::close(output);
        }
        ::execv(argv[0], argv);
        static const char kFailed[] = "datafix: cannot execute the cluster client\n";
        (void)!::write(2, kFailed, sizeof kFailed - 1);
        ::_exit(127);
    }
    for (;;) {
        pollfd p{lifeline, POLLIN, 0};
        ::poll(&p, 1, 100);
        int wstatus = 0;
        if (::waitpid(client, &wstatus, WNOHANG) == client) {
            ::_exit(exit_status_of(wstatus));
        }
        if (p.revents != 0) {
            break;  // EOF or error: datafix closed the lifeline or is gone
        }
    }
    ::kill(-::getpgrp(), SIGTERM);
    for (int waited = 0; waited < kGraceMs; waited += 20) {
        int wstatus = 0;
        if (::waitpid(client, &wstatus, WNOHANG) == client) {
            ::_exit(exit_status_of(wstatus));
        }
        sleep_ms(20);
    }
    ::kill(client, SIGKILL);
    int wstatus = 0;
    ::waitpid(client, &wstatus, 0);
    ::kill(-::getpgrp(), SIGKILL);  // whatever the client left in the group, and this process
    ::_exit(137);
}

}  // namespace

PortForward::PortForward(const PortForwardSpec& spec) : spec_(spec) {
    const auto deadline = std::chrono::steady_clock::now() + spec_.timeout;
    for (int attempt = 1;; ++attempt) {
        local_port_ = free_loopback_port();
        launch();
        if (wait_until_accepting(deadline)) {
            return;
        }
        const std::string said = output();
        const bool port_taken = said.find("address already in use") != std::string::npos;
        const bool gave_up = exit_status_ < 0;  // still running: the deadline passed
        stop();
        if (port_taken && attempt < kStartAttempts && !gave_up) {
            continue;
        }
        close_fds();
        const std::string what = gave_up ? "did not accept connections within " +
                                               std::to_string(spec_.timeout.count()) + " ms"
                                         : "ended before it accepted connections (exit status " +
                                               std::to_string(exit_status_) + ")";
        throw Error(ErrorCode::unreachable,
                    describe() + " " + what + (said.empty() ? "" : ": " + said),
                    "check that the pod is running and that you may port-forward in namespace " +
                        spec_.namespace_name + " (oc auth can-i create pods/portforward -n " +
                        spec_.namespace_name + ")");
    }
}

PortForward::~PortForward() {
    stop();
    close_fds();
}

PortForward::PortForward(PortForward&& other) noexcept
    : spec_(std::move(other.spec_)),
      local_port_(other.local_port_),
      supervisor_pid_(std::exchange(other.supervisor_pid_, -1)),
      lifeline_fd_(std::exchange(other.lifeline_fd_, -1)),
      output_fd_(std::exchange(other.output_fd_, -1)),
      exit_status_(other.exit_status_) {}

PortForward& PortForward::operator=(PortForward&& other) noexcept {
    if (this != &other) {
        stop();
        close_fds();
        spec_ = std::move(other.spec_);
        local_port_ = other.local_port_;
        supervisor_pid_ = std::exchange(other.supervisor_pid_, -1);
        lifeline_fd_ = std::exchange(other.lifeline_fd_, -1);
        output_fd_ = std::exchange(other.output_fd_, -1);
        exit_status_ = other.exit_status_;
    }
    return *this;
}

std::string PortForward::describe() const {
    return "the port-forward to pod " + spec_.pod + " in namespace " + spec_.namespace_name +
           " (127.0.0.1:" + std::to_string(local_port_) + " -> " +
           std::to_string(spec_.remote_port) + ")";
}

void PortForward::launch() {
    // Built before fork: the child may not allocate.
    std::vector<std::string> argv =
        cluster_arguments(spec_.client_path, spec_.kubeconfig, spec_.context, spec_.namespace_name);
    argv.insert(argv.end(),
                {"port-forward", "--address", "127.0.0.1", "pod/" + spec_.pod,
                 std::to_string(local_port_) + ":" + std::to_string(spec_.remote_port)});
    std::vector<char*> args = exec_argv(argv);

    close_fds();
    exit_status_ = -1;
    output_fd_ = ::memfd_create("datafix-port-forward", MFD_CLOEXEC);
    std::array<int, 2> lifeline{-1, -1};
    if (output_fd_ < 0 || ::pipe2(lifeline.data(), O_CLOEXEC) != 0) {
        close_fds();
        throw Error(ErrorCode::internal, "cannot create the pipes for " + describe());
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(lifeline[0]);
        ::close(lifeline[1]);
        close_fds();
        throw Error(ErrorCode::internal, "cannot start " + describe() + " (fork failed)");
    }
    if (pid == 0) {
        ::setpgid(0, 0);
        ::close(lifeline[1]);
        supervise(lifeline[0], output_fd_, args.data());
    }
    ::setpgid(pid, pid);
    ::close(lifeline[0]);
    supervisor_pid_ = pid;
    lifeline_fd_ = lifeline[1];
}

bool PortForward::wait_until_accepting(std::chrono::steady_clock::time_point deadline) {
    while (std::chrono::steady_clock::now() < deadline) {
        if (reap(false)) {
            return false;
        }
        // A connection is accepted by whoever listens on the port; the client must also still be
        // running afterwards, or the listener was someone else's.
        if (accepts_connections(local_port_)) {
            sleep_ms(50);
            return !reap(false);
        }
        sleep_ms(50);
    }
    return false;
}

bool PortForward::reap(bool block) noexcept {
    if (supervisor_pid_ < 0) {
        return true;
    }
    int wstatus = 0;
    pid_t r = 0;
    do {
        r = ::waitpid(supervisor_pid_, &wstatus, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == supervisor_pid_ || (r < 0 && errno == ECHILD)) {
        exit_status_ = r == supervisor_pid_ ? exit_status_of(wstatus) : 128 + SIGKILL;
        supervisor_pid_ = -1;  // reaped: its pid (and group id) may now be reused, never signal it
        return true;
    }
    return false;
}

bool PortForward::alive() {
    return !reap(false);
}

void PortForward::check_alive(std::chrono::milliseconds grace) {
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (alive()) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return;
        }
        sleep_ms(10);
    }
    const std::string said = output();
    throw Error(ErrorCode::unreachable,
                describe() + " ended (exit status " + std::to_string(exit_status_) + ")" +
                    (said.empty() ? "" : ": " + said),
                "the leader pod may have restarted or failed over; the run in progress ends "
                "in-doubt and is resolved, then retry the step (datafix finds the leader again)");
}

std::string PortForward::output() const {
    if (output_fd_ < 0) {
        return {};
    }
    const off_t size = ::lseek(output_fd_, 0, SEEK_END);
    if (size <= 0) {
        return {};
    }
    const off_t from = size > static_cast<off_t>(kOutputTail) ? size - kOutputTail : 0;
    std::string text(static_cast<std::size_t>(size - from), '\0');
    const ssize_t n = ::pread(output_fd_, text.data(), text.size(), from);
    text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
        text.pop_back();
    }
    return text;
}

void PortForward::stop() noexcept {
    if (lifeline_fd_ >= 0) {
        ::close(lifeline_fd_);
        lifeline_fd_ = -1;
    }
    if (supervisor_pid_ >= 0) {
        // Not reaped yet, so the group id still belongs to this forward.
        ::kill(-supervisor_pid_, SIGTERM);
        for (int waited = 0; waited < kGraceMs + 500 && !reap(false); waited += 10) {
            sleep_ms(10);
        }
        if (supervisor_pid_ >= 0) {
            ::kill(-supervisor_pid_, SIGKILL);
            reap(true);
        }
    }
}

void PortForward::close_fds() noexcept {
    for (int* fd : {&lifeline_fd_, &output_fd_}) {
        if (*fd >= 0) {
            ::close(*fd);
            *fd = -1;
        }
    }
}

}  // namespace datafix::discover
