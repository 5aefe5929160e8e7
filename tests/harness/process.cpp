// Child processes for the harness: fork/exec with stdin/stdout/stderr through temporary files, so
// large outputs never deadlock on a pipe. A child gets SIGKILL when the test process dies (a crash,
// a timeout's kill), so a crashed test leaves no datafix or client process behind.
#include "harness/process.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace datafix::testing {

namespace {

int temp_file(std::string& path) {
    char tmpl[] = "/tmp/datafix-proc-XXXXXX";
    int fd = ::mkstemp(tmpl);
    if (fd < 0) {
        throw std::runtime_error("mkstemp failed");
    }
    path = tmpl;
    return fd;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input) {
    std::string in_path, out_path, err_path;
    int in_fd = temp_file(in_path);
    int out_fd = temp_file(out_path);
    int err_fd = temp_file(err_path);
    if (::write(in_fd, input.data(), input.size()) != static_cast<ssize_t>(input.size())) {
        throw std::runtime_error("cannot write child input");
    }
    ::lseek(in_fd, 0, SEEK_SET);
    // Another OS user (runuser) must be able to read the input file.
    ::fchmod(in_fd, 0644);

    std::vector<char*> args;
    for (const auto& a : argv) {
        args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);

    const pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) {
        throw std::runtime_error("fork failed");
    }
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) {
            ::_exit(127);  // the test process died before prctl took effect
        }
        ::dup2(in_fd, 0);
        ::dup2(out_fd, 1);
        ::dup2(err_fd, 2);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    int wstatus = 0;
    while (::waitpid(pid, &wstatus, 0) < 0) {
    }
    ::close(in_fd);
    ::close(out_fd);
    ::close(err_fd);
    ProcessResult r;
    r.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    r.out = slurp(out_path);
    r.err = slurp(err_path);
    ::unlink(in_path.c_str());
    ::unlink(out_path.c_str());
    ::unlink(err_path.c_str());
    if (r.status == 127 && r.err.empty()) {
        r.err = "cannot execute " + argv.front();
    }
    return r;
}

std::vector<std::string> as_user(const std::string& user, std::vector<std::string> argv) {
    if (::geteuid() != 0) {
        return argv;
    }
    std::vector<std::string> wrapped = {"runuser", "-u", user, "--"};
    wrapped.insert(wrapped.end(), argv.begin(), argv.end());
    return wrapped;
}

}  // namespace datafix::testing
