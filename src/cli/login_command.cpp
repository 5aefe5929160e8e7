// `datafix login --token`: stores the token (and the server URL) in the credentials file, mode
// 0600, so later verbs need no environment variable. Checks the token with the server first.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/verb_support.hpp"

namespace datafix::cli {

void register_login(CLI::App& root, Action& action) {
    auto flags = std::make_shared<ClientFlags>();
    auto token = std::make_shared<std::string>();
    auto* cmd = root.add_subcommand("login", "store your token in " + credentials_path());
    cmd->add_option("--token", *token, "your token (dfx_...)")->required();
    add_client_flags(*cmd, *flags);
    cmd->callback([&action, flags, token] {
        action = [flags, token] {
            ::setenv("DATAFIX_TOKEN", token->c_str(), 1);
            ApiClient client(*flags);
            auto me = client.get("/api/me");
            std::string path = credentials_path();
            std::filesystem::create_directories(std::filesystem::path(path).parent_path());
            std::filesystem::remove(path);
            int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
            if (fd < 0) {
                throw Error(ErrorCode::internal, "cannot write " + path);
            }
            std::string content = "server = " + client.server() + "\ntoken = " + *token + "\n";
            bool ok =
                ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
            ::close(fd);
            if (!ok) {
                throw Error(ErrorCode::internal, "cannot write " + path);
            }
            return report_step(*flags, me,
                               "signed in as " + text(me["name"]) + " (" + text(me["role"]) +
                                   "); token stored in " + path);
        };
    });
}

}  // namespace datafix::cli
