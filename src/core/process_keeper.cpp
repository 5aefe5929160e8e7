// The keeper process (see process_keeper.hpp for why it exists). It is forked from a process that
// may run many threads, so the keeper itself makes only async-signal-safe calls and allocates
// nothing: its table of groups is a fixed array.
#include "core/process_keeper.hpp"

#include <fcntl.h>
#include <signal.h>  // NOLINT(modernize-deprecated-headers): POSIX kill, sigprocmask
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <mutex>
#include <vector>

namespace datafix::process::keeper {

namespace {

// More children than this at once are not guarded (the server runs a handful).
constexpr std::size_t kMaxGroups = 4096;
std::array<pid_t, kMaxGroups> kept_groups;  // used only inside the keeper

// The keeper's life: collect registrations until end-of-file, then kill what is left.
[[noreturn]] void keep(int sock) {
    // Its own group, so a Ctrl-C at a terminal or a signal to datafix's group does not end it
    // before it has done its work; the signals meant for datafix are ignored.
    ::setpgid(0, 0);
    for (int sig = 1; sig < NSIG; ++sig) {
        ::signal(sig, SIG_DFL);  // datafix's handlers are not the keeper's (errors: not catchable)
    }
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGUSR1, SIGUSR2}) {
        ::signal(sig, SIG_IGN);
    }
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // Nothing of datafix's stays open here: not its log, its sockets, or its stdout and stderr
    // (whoever reads those must see them close when datafix ends).
    const int devnull = ::open("/dev/null", O_RDWR);
    for (int fd = 0; fd <= 2; ++fd) {
        ::dup2(devnull, fd);
    }
    if (sock > 3) {
        ::close_range(3, static_cast<unsigned>(sock) - 1, 0);
    }
    ::close_range(static_cast<unsigned>(sock) + 1, ~0U, 0);
    ::prctl(PR_SET_NAME, "datafix-keeper");

    std::size_t count = 0;
    for (;;) {
        pid_t message = 0;
        const ssize_t got = ::recv(sock, &message, sizeof message, 0);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got != static_cast<ssize_t>(sizeof message)) {
            break;  // end-of-file: datafix is gone
        }
        if (message > 0 && count < kMaxGroups) {
            kept_groups[count++] = message;
        } else if (message < 0) {
            for (std::size_t i = 0; i < count; ++i) {
                if (kept_groups[i] == -message) {
                    kept_groups[i] = kept_groups[--count];
                    break;
                }
            }
        }
    }
    for (std::size_t i = 0; i < count; ++i) {
        ::kill(-kept_groups[i], SIGKILL);
    }
    ::_exit(0);
}

struct State {
    std::mutex mutex;
    int fd = -1;       // this process's end of the socket pair
    pid_t keeper = 0;  // the keeper's pid
    pid_t owner = 0;   // the process that started it: a fork of it needs a keeper of its own
    std::vector<pid_t> groups;  // registered, to hand to a new keeper if this one was killed
};

State& state() {
    static auto* s = new State;  // never destroyed: children may still end during exit
    return *s;
}

bool start(State& s) {
    int pair[2] = {-1, -1};
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
        return false;
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(pair[0]);
        ::close(pair[1]);
        return false;
    }
    if (pid == 0) {
        keep(pair[1]);  // closes pair[0] with every other descriptor
    }
    ::close(pair[1]);
    s.fd = pair[0];
    s.keeper = pid;
    s.owner = ::getpid();
    return true;
}

void drop(State& s) {
    if (s.fd >= 0) {
        ::close(s.fd);
    }
    if (s.keeper > 0 && s.owner == ::getpid()) {
        ::waitpid(s.keeper, nullptr, WNOHANG);  // reaps one that was killed
    }
    s.fd = -1;
    s.keeper = 0;
    s.owner = 0;
}

bool send_message(const State& s, pid_t message) {
    ssize_t n = 0;
    do {
        n = ::send(s.fd, &message, sizeof message, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n == static_cast<ssize_t>(sizeof message);
}

}  // namespace

void guard(pid_t group) noexcept {
    State& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    if (s.owner != ::getpid()) {
        // None yet, or the one this process inherited from the process it was forked from (its
        // groups are that process's business).
        if (s.fd >= 0) {
            ::close(s.fd);
        }
        s.fd = -1;
        s.keeper = 0;
        s.owner = 0;
        s.groups.clear();
    }
    try {
        s.groups.push_back(group);
    } catch (...) {
        return;
    }
    if (s.fd >= 0 && send_message(s, group)) {
        return;
    }
    // No keeper yet, or it was killed: a new one takes over every group still running.
    drop(s);
    if (!start(s)) {
        return;
    }
    for (pid_t g : s.groups) {
        send_message(s, g);
    }
}

void release(pid_t group) noexcept {
    State& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    if (s.owner != ::getpid()) {
        return;
    }
    s.groups.erase(std::remove(s.groups.begin(), s.groups.end(), group), s.groups.end());
    if (s.fd >= 0) {
        send_message(s, -group);
    }
}

}  // namespace datafix::process::keeper
