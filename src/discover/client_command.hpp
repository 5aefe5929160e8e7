// Running the cluster client (`oc`, `kubectl`) for one short command: no shell, argv only, its
// own process group, a deadline, stdout and stderr collected.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace datafix::discover {

// The executable for `client`: a path (it contains '/') is used as is, a bare name is looked up
// in `search_path` (colon-separated; empty means this process's PATH). Throws Error(config)
// naming what was searched when there is no such executable.
std::string find_client(std::string_view client, std::string_view search_path);

struct CommandResult {
    int exit_status = -1;  // the exit status, or 128 + the signal that ended it
    bool timed_out = false;
    std::string out;
    std::string err;
};

// Runs argv (argv[0] an executable path from find_client) through core/process with stdin from
// /dev/null and this process's environment. On the deadline the whole process group is stopped
// (SIGTERM, then SIGKILL) and `timed_out` is set. Throws Error(config) when the client cannot be
// executed, Error(unreachable) when it prints more than 16 MiB, Error(internal) when no process
// can be created.
CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

// The start of every command for one environment: the client, then --kubeconfig and --context
// when they are set, then -n <namespace>. The cluster, login and namespace are always named on
// the command line, never taken from the client's current context or project.
std::vector<std::string> cluster_arguments(const std::string& client_path,
                                           const std::string& kubeconfig,
                                           const std::string& context,
                                           const std::string& namespace_name);

// "oc -n ff61fb-prod get pods ...", for messages.
std::string command_text(const std::vector<std::string>& argv);

}  // namespace datafix::discover
