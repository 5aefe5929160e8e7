// The one module that starts child processes (pg_dump, pg_restore, a backup command, the cluster
// client and its port-forward, the SQL guard's worker). Every child gets exactly what its caller
// names: argv (no shell, no PATH search), its environment, stdin, stdout and stderr, and no other
// descriptor of this process (not the server's listening socket, client connections, database
// connections or log files). It runs in its own process group, so a deadline or a cancel ends
// whatever it started too: SIGTERM to the group, SIGKILL after a grace period, and SIGKILL to the
// group once the child has exited. When this process dies, however it dies (SIGKILL, a crash), the
// keeper process kills every group it still has running (a server killed mid-backup leaves no dump
// writing on). Output can be followed line by line while the program runs.
// Passwords travel in the environment or a passfile, never in argv (any local user can read argv).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace datafix::process {

struct Spec {
    std::vector<std::string> argv;  // argv[0] is an absolute path
    // "NAME=value" entries: all the child gets. current_environment() passes this process's own.
    std::vector<std::string> environment;
    std::string input;  // written to the child's stdin, which is then closed; empty: /dev/null
    // os_user, max_file_bytes and max_stack_bytes need code in the child, which posix_spawn cannot
    // run: a child that sets any of them is started on the fork path (process.cpp).
    std::string os_user;  // empty: this process's user; else switched to (needs root)
    // Non-empty: stdout goes to this new file (O_EXCL, 0600), created as the user the program runs
    // as (by the child after the user switch), so the directory's permissions are checked for it.
    std::string stdout_file;
    std::uint64_t max_file_bytes = 0;   // RLIMIT_FSIZE (writes past it fail with EFBIG); 0: none
    std::uint64_t max_stack_bytes = 0;  // RLIMIT_STACK; 0: inherited
    std::size_t max_output_bytes = 64 * 1024;  // per stream; only the last this many are kept
    std::chrono::milliseconds deadline{0};     // 0: none
    // >= 0: stdout and stderr both go to this descriptor of the caller's (e.g. a memfd) and are
    // not captured. For a Child, which nobody reads pipes for.
    int output_fd = -1;
};

enum class Stream { out, err };

enum class Stage {
    ran,          // the program ran (and exited or was killed)
    user_switch,  // the OS user could not be assumed
    create_file,  // stdout_file could not be created
    exec,         // the program could not be started (missing, not executable, ...)
};

struct Result {
    Stage stage = Stage::ran;
    int setup_errno = 0;   // why the stage failed
    int exit_status = -1;  // exit status, or 128 + signal
    int signal = 0;        // the signal that ended it, if any
    bool timed_out = false;
    bool cancelled = false;
    std::string out;  // captured stdout (when not sent to a file): its last max_output_bytes
    std::string err;  // captured stderr: its last max_output_bytes
    bool out_truncated = false;
    bool err_truncated = false;

    bool started() const { return stage == Stage::ran; }
    // "cannot execute /usr/bin/pg_dump: No such file or directory" (empty when it started).
    std::string setup_failure(const Spec& spec) const;
};

struct Watch {
    // Called about every `interval` with the size of `watched_file` (or stdout_file).
    std::function<void(std::uint64_t bytes, std::chrono::milliseconds elapsed)> on_progress;
    std::chrono::milliseconds interval{250};
    std::string watched_file;
    const std::atomic<bool>* cancel = nullptr;
    // Called with each line of stdout and stderr as it arrives, without its newline. A line longer
    // than max_line_bytes arrives in pieces of that size; a last line without a newline arrives
    // when the stream ends. Only this much is buffered per stream, however long the line.
    std::function<void(Stream, std::string_view line)> on_line;
    std::size_t max_line_bytes = 16 * 1024;
};

// Runs the program to its end (or deadline, or cancel). Throws Error(config) for an os_user that
// does not exist or cannot be assumed by this process, Error(internal) when no process can be
// created at all; a program that cannot be started is a Result with stage exec.
Result run(const Spec& spec, const Watch& watch = {});

// A program that runs alongside its owner (the port-forward) rather than to its end: same
// descriptors, group and keeper as run(), no stdin, stdout and stderr to spec.output_fd (or
// /dev/null); deadline and input are not supported. Destroying it stops it.
class Child {
  public:
    // Starts the program. Throws Error(config) when it cannot be started (setup_failure's text),
    // and what run() throws.
    explicit Child(const Spec& spec);
    Child() = default;  // owns nothing
    ~Child();           // stop(); never throws
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    Child(Child&& other) noexcept;
    Child& operator=(Child&& other) noexcept;

    // The child's pid, which is also its process group; -1 once it has been reaped (the id may
    // then belong to someone else) or when nothing was started.
    int pid() const { return pid_; }
    // False once the program has exited; then reaps it and everything left in its group.
    bool running() noexcept;
    // The exit status, or 128 + the signal that ended it; -1 while it runs.
    int exit_status() const { return exit_status_; }
    // SIGTERM to the group, SIGKILL after `grace`, then reaps it. Idempotent.
    void stop(std::chrono::milliseconds grace = std::chrono::milliseconds{2000}) noexcept;

  private:
    void finish(int wstatus) noexcept;

    int pid_ = -1;
    int exit_status_ = -1;
};

// This process's environment as "NAME=value" entries, for children that need the operator's
// settings (PATH, HOME, KUBECONFIG, PGPASSFILE, ...).
std::vector<std::string> current_environment();

// "/usr/bin/oc -n ns get pods" with argv[0] shortened to its file name, for messages.
std::string command_text(const std::vector<std::string>& argv);

}  // namespace datafix::process
