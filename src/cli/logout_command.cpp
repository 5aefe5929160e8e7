// `datafix logout`: signs the CLI out. A session from `datafix login` (the sign-in provider's
// device grant, "dfs_...") is ended on the server, which audits it (session.signed_out) as the
// pages' sign-out does; then the credentials file is removed. A token an administrator issued
// (`datafix login --token`) is only forgotten here: it stays valid until it expires or is rotated.
// Signing out with nothing stored says so and succeeds, so a script may sign out twice.
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/verb_support.hpp"

namespace datafix::cli {

namespace {

int report(const ClientFlags& flags, bool signed_out, const std::string& outcome,
           const std::string& message) {
    if (flags.json()) {
        print_json({{"signed_out", signed_out},
                    {"outcome", outcome},
                    {"credentials", credentials_path()}});
        return 0;
    }
    std::cout << message << "\n";
    return 0;
}

}  // namespace

void register_logout(CLI::App& root, Action& action) {
    auto flags = std::make_shared<ClientFlags>();
    auto* cmd = root.add_subcommand(
        "logout", "sign out: end the CLI's session on the server and remove " + credentials_path());
    add_client_flags(*cmd, *flags);
    cmd->callback([&action, flags] {
        action = [flags] {
            const std::string path = credentials_path();
            const StoredCredentials stored = read_credentials();
            if (stored.token.empty()) {
                const char* env_token = std::getenv("DATAFIX_TOKEN");
                return report(*flags, false, "not-signed-in",
                              "not signed in: there are no stored credentials in " + path +
                                  (env_token != nullptr && *env_token != '\0'
                                       ? " (DATAFIX_TOKEN is set in this shell: unset it to stop "
                                         "using that token)"
                                       : ""));
            }
            if (stored.token.rfind("dfs_", 0) != 0) {
                std::filesystem::remove(path);
                return report(*flags, false, "token-forgotten",
                              "removed the stored token from " + path +
                                  "; the token itself stays valid until it expires or an "
                                  "administrator rotates it (datafix users rotate-token)");
            }
            // The session belongs to the server it was opened on.
            ClientFlags at = *flags;
            if (at.server.empty()) {
                at.server = stored.server;
            }
            ::setenv("DATAFIX_TOKEN", stored.token.c_str(), 1);
            ApiClient client(at);
            try {
                client.post("/auth/logout", nlohmann::json::object());
            } catch (const ApiFailure& e) {
                if (e.code() != ErrorCode::unauthenticated) {
                    throw;
                }
                // Expired, or ended elsewhere: nothing is left to end on the server.
                std::filesystem::remove(path);
                return report(*flags, false, "session-ended-already",
                              "the session had already ended (" + e.message() +
                                  "); removed its credentials from " + path);
            }
            std::filesystem::remove(path);
            return report(*flags, true, "signed-out",
                          "signed out of " + client.server() +
                              ": the session is ended and its credentials are removed from " +
                              path);
        };
    });
}

}  // namespace datafix::cli
