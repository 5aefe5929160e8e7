// Starting and stopping tests/oidc/provider.mjs. See oidc_provider.hpp.
#include "harness/oidc_provider.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

extern char** environ;

namespace datafix::testing {

namespace {
const std::string kSource = DATAFIX_SOURCE_DIR;
}

bool LoopbackOidcProvider::installed() {
    return std::filesystem::exists(kSource + "/tests/oidc/node_modules/oidc-provider");
}

LoopbackOidcProvider::LoopbackOidcProvider(const std::string& redirect_uri,
                                           const std::string& people_json) {
    int out[2];
    EXPECT_EQ(::pipe(out), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    std::vector<std::string> env_text;
    for (char** e = environ; *e != nullptr; ++e) {
        env_text.emplace_back(*e);
    }
    env_text.push_back("OIDC_REDIRECT_URI=" + redirect_uri);
    env_text.push_back(std::string("OIDC_CLIENT_SECRET=") + kOidcClientSecret);
    env_text.push_back("OIDC_PEOPLE=" + people_json);
    std::vector<char*> envp;
    for (auto& e : env_text) {
        envp.push_back(e.data());
    }
    envp.push_back(nullptr);
    std::string script = kSource + "/tests/oidc/provider.mjs";
    std::vector<char*> argv{const_cast<char*>("node"), script.data(), nullptr};
    EXPECT_EQ(::posix_spawnp(&pid_, "node", &actions, nullptr, argv.data(), envp.data()), 0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    FILE* stream = ::fdopen(out[0], "r");
    char line[512];
    while (std::fgets(line, sizeof line, stream) != nullptr) {
        std::string text = line;
        if (text.rfind("issuer ", 0) == 0) {
            issuer_ = text.substr(7, text.find_last_not_of("\r\n") - 6);
            break;
        }
    }
    stream_ = stream;  // kept open: the provider may write more
}

LoopbackOidcProvider::~LoopbackOidcProvider() {
    if (pid_ > 0) {
        ::kill(pid_, SIGTERM);
        ::waitpid(pid_, nullptr, 0);
    }
    if (stream_ != nullptr) {
        std::fclose(stream_);
    }
}

int free_loopback_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t length = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
    ::close(fd);
    return ntohs(addr.sin_port);
}

}  // namespace datafix::testing
