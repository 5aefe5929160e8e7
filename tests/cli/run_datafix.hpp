// Runs the built `datafix` binary as a user would from a shell, for the CLI tests: its exit status
// and what it printed (stdout and stderr together).
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace datafix::cli::testing {

struct CommandRun {
    int status = -1;
    std::string out;  // stdout and stderr together
};

inline CommandRun run_datafix(const std::string& arguments) {
    std::string command = std::string(DATAFIX_BINARY) + " " + arguments + " 2>&1";
    CommandRun run;
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) {
        return run;
    }
    std::array<char, 4096> buffer{};
    std::size_t n = 0;
    while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
        run.out.append(buffer.data(), n);
    }
    int status = pclose(pipe);
    run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return run;
}

}  // namespace datafix::cli::testing
