// Finding the cluster client, and running it through core/process (own process group, deadline,
// output cap, no inherited descriptors).
#include "discover/client_command.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "core/error.hpp"
#include "core/process.hpp"

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

}  // namespace

std::string find_client(std::string_view client, std::string_view search_path) {
    const std::string name(client);
    if (name.find('/') != std::string::npos) {
        if (is_executable_file(name)) {
            return std::filesystem::absolute(name).string();
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

std::vector<std::string> cluster_arguments(const std::string& client_path,
                                           const std::string& kubeconfig,
                                           const std::string& context,
                                           const std::string& namespace_name) {
    std::vector<std::string> argv = {client_path};
    if (!kubeconfig.empty()) {
        argv.insert(argv.end(), {"--kubeconfig", kubeconfig});
    }
    if (!context.empty()) {
        argv.insert(argv.end(), {"--context", context});
    }
    argv.insert(argv.end(), {"-n", namespace_name});
    return argv;
}

std::string command_text(const std::vector<std::string>& argv) {
    return process::command_text(argv);
}

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
    process::Spec spec;
    spec.argv = argv;
    // The operator's login to the cluster: KUBECONFIG, HOME, PATH for credential plugins.
    spec.environment = process::current_environment();
    spec.deadline = timeout;
    spec.max_output_bytes = kMaxOutput;
    const process::Result r = process::run(spec);
    if (!r.started()) {
        throw Error(ErrorCode::config, r.setup_failure(spec),
                    "install the cluster client or fix `client` in the environment's "
                    "openshift/kubernetes table");
    }
    if (r.out_truncated || r.err_truncated) {
        throw Error(ErrorCode::unreachable,
                    "`" + command_text(argv) + "` printed more than " +
                        std::to_string(kMaxOutput / (1024 * 1024)) + " MiB",
                    "check the cluster client; a pod list is far smaller than that");
    }
    CommandResult result;
    result.exit_status = r.exit_status;
    result.timed_out = r.timed_out;
    result.out = r.out;
    result.err = r.err;
    return result;
}

}  // namespace datafix::discover
