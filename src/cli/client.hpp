// The API client of every verb that talks to the server: cpp-httplib's client, the person's
// token (DATAFIX_TOKEN or the 0600 credentials file), the server URL (--server, DATAFIX_SERVER,
// the credentials file), and the flags every such verb shares (--server, --output, --color).
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace CLI {
class App;
}
namespace httplib {
class Client;
}

namespace datafix::cli {

struct ClientFlags {
    std::string server;
    std::string output = "human";  // human | json
    bool color = false;

    bool json() const { return output == "json"; }
};

// Adds --server, --output and --color to a verb.
void add_client_flags(CLI::App& command, ClientFlags& flags);

// A refusal from the server: the error plus the rule and details (e.g. the SQL guard's reasons).
class ApiFailure : public Error {
  public:
    ApiFailure(ErrorCode code, std::string rule, std::string message, std::string hint,
               nlohmann::json details);
    const std::string& rule() const noexcept { return rule_; }
    const nlohmann::json& details() const noexcept { return details_; }

  private:
    std::string rule_;
    nlohmann::json details_;
};

std::string credentials_path();

// What `datafix login` stored in the credentials file ("" for what it does not hold; both ""
// when there is no file). Error(unauthenticated) when other people can read the file.
struct StoredCredentials {
    std::string token;
    std::string server;
};
StoredCredentials read_credentials();

// The code an error answer names ("rule", "database", ...); internal for a name not known.
ErrorCode code_from_name(const std::string& name);

class ApiClient {
  public:
    // Reads the token and server; Error(unauthenticated) without a token when `need_token`.
    explicit ApiClient(const ClientFlags& flags, bool need_token = true);
    ~ApiClient();

    nlohmann::json get(const std::string& path);
    nlohmann::json post(const std::string& path, const nlohmann::json& body);
    // Streams a GET; `on_chunk` returns false to stop.
    void stream(const std::string& path, const std::function<bool(std::string_view)>& on_chunk);

    const std::string& server() const { return server_; }

  private:
    nlohmann::json answer(int status, const std::string& body);
    std::string server_;
    std::string token_;
    std::unique_ptr<httplib::Client> http_;
};

}  // namespace datafix::cli
