// `datafix login`: signs in and stores the credential (and the server URL) in the credentials
// file, mode 0600, so later verbs need no environment variable. Two ways:
//   --token T   a token from `datafix users add` / `rotate-token` (automation, CI); checked with
//               the server first
//   (default)   the server's sign-in provider ([auth.oidc]) with the device authorization grant:
//               the CLI shows a URL and a code, the person approves in a browser, and the server
//               hands back a datafix session token (never the provider's tokens)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <thread>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/verb_support.hpp"

namespace datafix::cli {

namespace {

void store_credentials(const std::string& server, const std::string& token) {
    std::string path = credentials_path();
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::filesystem::remove(path);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        throw Error(ErrorCode::internal, "cannot write " + path);
    }
    std::string content = "server = " + server + "\ntoken = " + token + "\n";
    bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
    ::close(fd);
    if (!ok) {
        throw Error(ErrorCode::internal, "cannot write " + path);
    }
}

// The device authorization grant through the server: the person approves in a browser while
// this polls at the provider's interval (longer when told to slow down) until the code expires.
std::string device_sign_in(const ClientFlags& flags) {
    ApiClient client(flags, false);
    nlohmann::json device = client.post("/api/auth/device", nlohmann::json::object());
    const std::string complete = device.value("verification_uri_complete", "");
    std::cerr << "To sign in, open "
              << (complete.empty() ? device.value("verification_uri", "") : complete)
              << "\nand confirm the code " << device.value("user_code", "") << std::endl;
    auto interval = std::chrono::seconds{std::max(1, device.value("interval", 5))};
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds{device.value("expires_in", 600)};
    const nlohmann::json poll = {{"device_code", device.value("device_code", "")}};
    while (std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(interval);
        nlohmann::json answer = client.post("/api/auth/device/token", poll);
        if (answer.contains("token")) {
            return answer["token"].get<std::string>();
        }
        if (answer.value("status", "") == "slow_down") {
            interval += std::chrono::seconds{5};
        }
    }
    throw Error(ErrorCode::unauthenticated, "the sign-in was not confirmed in time",
                "run datafix login again and confirm the code in the browser");
}

}  // namespace

void register_login(CLI::App& root, Action& action) {
    auto flags = std::make_shared<ClientFlags>();
    auto token = std::make_shared<std::string>();
    auto* cmd = root.add_subcommand(
        "login",
        "sign in through the server's sign-in provider (or store a token with --token) "
        "into " +
            credentials_path());
    cmd->add_option("--token", *token,
                    "a token from an administrator (dfx_...), for automation; without it, sign "
                    "in in a browser (device code)");
    add_client_flags(*cmd, *flags);
    cmd->callback([&action, flags, token] {
        action = [flags, token] {
            const bool device = token->empty();
            const std::string credential = device ? device_sign_in(*flags) : *token;
            ::setenv("DATAFIX_TOKEN", credential.c_str(), 1);
            ApiClient client(*flags);
            auto me = client.get("/api/me");
            store_credentials(client.server(), credential);
            const std::string role = text(me["role"]) == "none"
                                         ? "no role yet: ask an administrator to give you one"
                                         : text(me["role"]);
            return report_step(*flags, me,
                               "signed in as " + text(me["name"]) + " (" + role + "); " +
                                   (device ? "session" : "token") + " stored in " +
                                   credentials_path());
        };
    });
}

}  // namespace datafix::cli
