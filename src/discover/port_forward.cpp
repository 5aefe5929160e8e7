// The port-forward process: a core/process Child writing to a memory file (see port_forward.hpp
// for how it is never left behind).
#include "discover/port_forward.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <utility>

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

}  // namespace

PortForward::PortForward(PortForwardSpec spec) : spec_(std::move(spec)) {
    const auto deadline = std::chrono::steady_clock::now() + spec_.timeout;
    for (int attempt = 1;; ++attempt) {
        local_port_ = free_loopback_port();
        launch();
        if (wait_until_accepting(deadline)) {
            return;
        }
        const std::string said = output();
        const bool port_taken = said.find("address already in use") != std::string::npos;
        const bool gave_up = client_.exit_status() < 0;  // still running: the deadline passed
        stop();
        if (port_taken && attempt < kStartAttempts && !gave_up) {
            continue;
        }
        close_output();
        const std::string what = gave_up ? "did not accept connections within " +
                                               std::to_string(spec_.timeout.count()) + " ms"
                                         : "ended before it accepted connections (exit status " +
                                               std::to_string(client_.exit_status()) + ")";
        throw Error(ErrorCode::unreachable,
                    describe() + " " + what + (said.empty() ? "" : ": " + said),
                    "check that the pod is running and that you may port-forward in namespace " +
                        spec_.namespace_name + " (oc auth can-i create pods/portforward -n " +
                        spec_.namespace_name + ")");
    }
}

PortForward::~PortForward() {
    stop();
    close_output();
}

PortForward::PortForward(PortForward&& other) noexcept
    : spec_(std::move(other.spec_)),
      local_port_(other.local_port_),
      client_(std::move(other.client_)),
      output_fd_(std::exchange(other.output_fd_, -1)) {}

PortForward& PortForward::operator=(PortForward&& other) noexcept {
    if (this != &other) {
        stop();
        close_output();
        spec_ = std::move(other.spec_);
        local_port_ = other.local_port_;
        client_ = std::move(other.client_);
        output_fd_ = std::exchange(other.output_fd_, -1);
    }
    return *this;
}

std::string PortForward::describe() const {
    return "the port-forward to pod " + spec_.pod + " in namespace " + spec_.namespace_name +
           " (127.0.0.1:" + std::to_string(local_port_) + " -> " +
           std::to_string(spec_.remote_port) + ")";
}

void PortForward::launch() {
    process::Spec spec;
    spec.argv =
        cluster_arguments(spec_.client_path, spec_.kubeconfig, spec_.context, spec_.namespace_name);
    spec.argv.insert(spec.argv.end(),
                     {"port-forward", "--address", "127.0.0.1", "pod/" + spec_.pod,
                      std::to_string(local_port_) + ":" + std::to_string(spec_.remote_port)});
    // The operator's login to the cluster: KUBECONFIG, HOME, PATH for credential plugins.
    spec.environment = process::current_environment();

    close_output();
    output_fd_ = ::memfd_create("datafix-port-forward", MFD_CLOEXEC);
    if (output_fd_ < 0) {
        throw Error(ErrorCode::internal, "cannot create the output file for " + describe());
    }
    spec.output_fd = output_fd_;
    client_ = process::Child(spec);
}

bool PortForward::wait_until_accepting(std::chrono::steady_clock::time_point deadline) {
    while (std::chrono::steady_clock::now() < deadline) {
        if (!client_.running()) {
            return false;
        }
        // A connection is accepted by whoever listens on the port; the client must also still be
        // running afterwards, or the listener was someone else's.
        if (accepts_connections(local_port_)) {
            sleep_ms(50);
            return client_.running();
        }
        sleep_ms(50);
    }
    return false;
}

bool PortForward::alive() {
    return client_.running();
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
                describe() + " ended (exit status " + std::to_string(client_.exit_status()) + ")" +
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
    const off_t from =
        size > static_cast<off_t>(kOutputTail) ? size - static_cast<off_t>(kOutputTail) : 0;
    std::string text(static_cast<std::size_t>(size - from), '\0');
    const ssize_t n = ::pread(output_fd_, text.data(), text.size(), from);
    text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
        text.pop_back();
    }
    return text;
}

void PortForward::stop() noexcept {
    client_.stop(std::chrono::milliseconds{kGraceMs});
}

void PortForward::close_output() noexcept {
    if (output_fd_ >= 0) {
        ::close(output_fd_);
        output_fd_ = -1;
    }
}

}  // namespace datafix::discover
