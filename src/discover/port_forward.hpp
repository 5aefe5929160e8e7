// A running `<client> [--kubeconfig k] [--context c] -n <ns> port-forward pod/<name>
// <local>:<port>` on a free loopback port,
// owned by one object: constructing it starts the forward and waits until it accepts
// connections; destroying it stops the forward. Never left behind:
//  - normal scope exit, an exception, a failed start: the destructor (or start itself) kills the
//    forward's process group and reaps it;
//  - datafix ending any other way (SIGINT, SIGTERM, SIGKILL, a crash): the client is a
//    core/process Child, whose group the keeper process kills when datafix ends, however it ends.
//    So datafix installs no signal handler for this and a library never takes over SIGINT/SIGTERM.
//  - the client runs in its own process group: a Ctrl-C at a terminal reaches datafix, which
//    decides when the forward ends (after its rollback), rather than cutting the forward under a
//    running statement.
#pragma once

#include <chrono>
#include <string>

#include "core/process.hpp"

namespace datafix::discover {

struct PortForwardSpec {
    std::string client_path;     // from find_client
    std::string namespace_name;  // passed as -n
    std::string pod;             // the leader pod's name
    int remote_port = 5432;
    // How long the forward may take to accept connections before datafix gives up.
    std::chrono::milliseconds timeout{std::chrono::seconds{30}};
    // The environment's cluster login, passed as --kubeconfig and --context when set.
    std::string kubeconfig;
    std::string context;
};

class PortForward {
  public:
    // Starts the forward and waits until 127.0.0.1:local_port() accepts a connection. Throws
    // Error(unreachable) with the client's own output when it exits first or is not ready in time.
    explicit PortForward(PortForwardSpec spec);
    ~PortForward();  // stop(); never throws

    PortForward(const PortForward&) = delete;
    PortForward& operator=(const PortForward&) = delete;
    PortForward(PortForward&& other) noexcept;
    PortForward& operator=(PortForward&& other) noexcept;

    int local_port() const { return local_port_; }
    const std::string& pod() const { return spec_.pod; }
    // The client's process group (for logs and for tests that check that nothing is left); -1
    // once stopped.
    int process_group() const { return client_.pid(); }

    // False once the client has exited (the pod went away, the API server cut the stream, ...).
    bool alive();
    // Throws Error(unreachable) naming the pod and quoting the client's last output when the
    // forward has ended: call it when a connection through the forward fails, so the person sees
    // why rather than only libpq's "server closed the connection unexpectedly". The client may
    // need a moment to exit after the connection broke: `grace` waits up to that long for it.
    void check_alive(std::chrono::milliseconds grace = std::chrono::milliseconds{0});
    // What the client printed on stdout and stderr (the last few KiB).
    std::string output() const;

    // Stops the client: SIGTERM to the group, SIGKILL after a grace period, then reaps it.
    void stop() noexcept;

  private:
    void launch();
    // True when accepting; false when the client exited first (its status in client_).
    bool wait_until_accepting(std::chrono::steady_clock::time_point deadline);
    void close_output() noexcept;
    std::string describe() const;

    PortForwardSpec spec_;
    int local_port_ = 0;
    process::Child client_;
    int output_fd_ = -1;  // a memfd the client writes stdout and stderr to
};

}  // namespace datafix::discover
