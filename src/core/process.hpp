// The one module that starts child processes (pg_dump, a backup command, the cluster client, the
// SQL guard's worker). Every child gets exactly what its caller names: argv (no shell, no PATH
// search), its environment, stdin, stdout and stderr, and no other descriptor of this process (not
// the server's listening socket, client connections, database connections or log files). It runs
// in its own process group, so a deadline or a cancel ends whatever it started too: SIGTERM to the
// group, SIGKILL after a grace period, and SIGKILL to the group once the child has exited. The
// child itself is killed when this process dies (a server killed mid-backup leaves no dump
// writing on).
// Passwords travel in the environment or a passfile, never in argv (any local user can read argv).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace datafix::process {

struct Spec {
    std::vector<std::string> argv;  // argv[0] is an absolute path
    // "NAME=value" entries: all the child gets. current_environment() passes this process's own.
    std::vector<std::string> environment;
    std::string input;    // written to the child's stdin, which is then closed; empty: /dev/null
    std::string os_user;  // empty: this process's user; else switched to (needs root)
    // Non-empty: stdout goes to this new file (O_EXCL, 0600), created by the child after the user
    // switch, so the directory's permissions are checked for the user it runs as.
    std::string stdout_file;
    std::uint64_t max_file_bytes = 0;   // RLIMIT_FSIZE (writes past it fail with EFBIG); 0: none
    std::uint64_t max_stack_bytes = 0;  // RLIMIT_STACK; 0: inherited
    std::size_t max_output_bytes = 64 * 1024;  // per stream; only the last this many are kept
    std::chrono::milliseconds deadline{0};     // 0: none
};

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
};

// Runs the program to its end (or deadline, or cancel). Throws Error(config) for an os_user that
// does not exist or cannot be assumed by this process, Error(internal) when no process can be
// created at all; a program that cannot be started is a Result with stage exec.
Result run(const Spec& spec, const Watch& watch = {});

// This process's environment as "NAME=value" entries, for children that need the operator's
// settings (PATH, HOME, KUBECONFIG, PGPASSFILE, ...).
std::vector<std::string> current_environment();

// "/usr/bin/oc -n ns get pods" with argv[0] shortened to its file name, for messages.
std::string command_text(const std::vector<std::string>& argv);

}  // namespace datafix::process
