// A child program watched while it runs: optionally as another OS user, with its stdout written
// to a new 0600 file that the child itself creates (so the directory's permissions are checked
// for the user it runs as), a file-size limit, progress by polling the file's size, cancellation
// (the whole process group is killed) and a timeout. Internal to the backup layer.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace datafix::backup {

struct ChildSpec {
    std::vector<std::string> argv;  // argv[0] is a path; no shell, no PATH search
    std::string os_user;            // empty: the current user
    // Non-empty: stdout goes to this new file (O_EXCL, 0600), created by the child.
    std::string stdout_file;
    std::uint64_t max_file_bytes = 0;  // RLIMIT_FSIZE; 0: none
    // Polled for progress: stdout_file, or a file the program writes itself.
    std::string watched_file;
    std::chrono::milliseconds timeout{0};  // 0: none
};

enum class ChildStage {
    ran,          // the program ran (and exited or was killed)
    user_switch,  // the OS user could not be assumed
    create_file,  // stdout_file could not be created
    exec,         // the program could not be started
};

struct ChildResult {
    ChildStage stage = ChildStage::ran;
    int setup_errno = 0;   // why the stage failed
    int exit_status = -1;  // exit status, or 128 + signal
    int signal = 0;        // the signal that ended it, if any
    bool cancelled = false;
    bool timed_out = false;
    std::string out;  // captured stdout (when not sent to a file), last 64 KiB
    std::string err;  // captured stderr, last 64 KiB
};

struct ChildWatch {
    std::function<void(std::uint64_t bytes, std::chrono::milliseconds elapsed)> on_progress;
    std::chrono::milliseconds interval{250};
    const std::atomic<bool>* cancel = nullptr;
};

ChildResult run_child(const ChildSpec& spec, const ChildWatch& watch);

}  // namespace datafix::backup
