// Runs a program (no shell), feeding stdin from a string and collecting stdout and stderr.
#pragma once

#include <string>
#include <vector>

namespace datafix::testing {

struct ProcessResult {
    int status = -1;  // exit status, or 128 + signal
    std::string out;
    std::string err;
};

ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input = {});

// argv run as `user` (via runuser) when the tests run as root, else as is.
std::vector<std::string> as_user(const std::string& user, std::vector<std::string> argv);

}  // namespace datafix::testing
