// HTTP to the datafix server; the one place where cpp-httplib's errors become datafix errors.
#include "cli/client.hpp"

#include <httplib.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>

namespace datafix::cli {

namespace {

constexpr const char* kDefaultServer = "http://127.0.0.1:8470";

// cpp-httplib's failures, mapped once: the server could not be reached or answered nothing.
Error transport_error(httplib::Error error, const std::string& server) {
    return Error(ErrorCode::unreachable,
                 "cannot reach the datafix server at " + server + ": " + httplib::to_string(error),
                 "check --server / DATAFIX_SERVER and that datafix server is running");
}

std::string trim(const std::string& s) {
    auto b = s.find_first_not_of(" \t\r\n\"");
    auto e = s.find_last_not_of(" \t\r\n\"");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

}  // namespace

ErrorCode code_from_name(const std::string& name) {
    for (int i = 0; i <= static_cast<int>(kLastErrorCode); ++i) {
        auto code = static_cast<ErrorCode>(i);
        if (code_name(code) == name) {
            return code;
        }
    }
    return ErrorCode::internal;
}

void add_client_flags(CLI::App& command, ClientFlags& flags) {
    command.add_option("--server", flags.server,
                       "server URL (default: DATAFIX_SERVER, the credentials file, " +
                           std::string(kDefaultServer) + ")");
    command.add_option("--output,-o", flags.output, "human (default) or json")
        ->check(CLI::IsMember({"human", "json"}));
    command.add_flag("--color", flags.color, "colour the output even when it is not a terminal");
}

ApiFailure::ApiFailure(ErrorCode code, std::string rule, std::string message, std::string hint,
                       nlohmann::json details)
    : Error(code, std::move(message), std::move(hint)),
      rule_(std::move(rule)),
      details_(std::move(details)) {}

StoredCredentials read_credentials() {
    StoredCredentials c;
    std::string path = credentials_path();
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return c;
    }
    if ((st.st_mode & 077) != 0) {
        throw Error(ErrorCode::unauthenticated,
                    "the credentials file " + path + " can be read by other people",
                    "chmod 600 " + path + " (or run datafix login again)");
    }
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        auto eq = line.find('=');
        if (eq == std::string::npos) {
            continue;
        }
        std::string key = trim(line.substr(0, eq));
        std::string value = trim(line.substr(eq + 1));
        if (key == "token") {
            c.token = value;
        } else if (key == "server") {
            c.server = value;
        }
    }
    return c;
}

std::string credentials_path() {
    if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg) {
        return std::string(xdg) + "/datafix/credentials";
    }
    const char* home = std::getenv("HOME");
    return std::string(home ? home : ".") + "/.config/datafix/credentials";
}

ApiClient::ApiClient(const ClientFlags& flags, bool need_token) {
    StoredCredentials file;
    const char* env_token = std::getenv("DATAFIX_TOKEN");
    const char* env_server = std::getenv("DATAFIX_SERVER");
    if (!(env_token && *env_token) || flags.server.empty()) {
        file = read_credentials();
    }
    token_ = env_token && *env_token ? env_token : file.token;
    server_ = !flags.server.empty()       ? flags.server
              : env_server && *env_server ? env_server
              : !file.server.empty()      ? file.server
                                          : kDefaultServer;
    while (!server_.empty() && server_.back() == '/') {
        server_.pop_back();
    }
    if (need_token && token_.empty()) {
        throw Error(ErrorCode::unauthenticated, "no token",
                    "set DATAFIX_TOKEN or run datafix login --token <token>");
    }
    http_ = std::make_unique<httplib::Client>(server_);
    if (!http_->is_valid()) {
        throw Error(ErrorCode::usage, "invalid server URL " + server_,
                    "use http://host:port (e.g. " + std::string(kDefaultServer) + ")");
    }
    http_->set_connection_timeout(std::chrono::seconds(5));
    http_->set_tcp_nodelay(true);
    // A run on a large table takes as long as the database needs; the server bounds it with the
    // environment's statement_timeout.
    http_->set_read_timeout(std::chrono::minutes(30));
    if (!token_.empty()) {
        http_->set_bearer_token_auth(token_);
    }
}

ApiClient::~ApiClient() = default;

nlohmann::json ApiClient::answer(int status, const std::string& body) {
    nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded()) {
        throw Error(ErrorCode::internal,
                    "the server answered " + std::to_string(status) + " with something not JSON",
                    "is --server pointing at a datafix server?");
    }
    if (status >= 400 || (j.is_object() && j.contains("error"))) {
        throw ApiFailure(code_from_name(j.value("error", "internal")), j.value("rule", ""),
                         j.value("message", "request failed"), j.value("hint", ""),
                         j.contains("details") ? j["details"] : nlohmann::json(nullptr));
    }
    return j;
}

nlohmann::json ApiClient::get(const std::string& path) {
    auto res = http_->Get(path.c_str());
    if (!res) {
        throw transport_error(res.error(), server_);
    }
    return answer(res->status, res->body);
}

nlohmann::json ApiClient::post(const std::string& path, const nlohmann::json& body) {
    auto res = http_->Post(path.c_str(), body.dump(), "application/json");
    if (!res) {
        throw transport_error(res.error(), server_);
    }
    return answer(res->status, res->body);
}

void ApiClient::stream(const std::string& path,
                       const std::function<bool(std::string_view)>& on_chunk) {
    std::string error_body;
    int status = 0;
    auto res = http_->Get(
        path.c_str(), httplib::Headers{},
        [&](const httplib::Response& r) {
            status = r.status;
            return true;
        },
        [&](const char* data, std::size_t size) {
            if (status >= 400) {
                error_body.append(data, size);
                return true;
            }
            return on_chunk(std::string_view(data, size));
        });
    if (status >= 400) {
        answer(status, error_body);
    }
    if (!res && res.error() != httplib::Error::Canceled) {
        throw transport_error(res.error(), server_);
    }
}

}  // namespace datafix::cli
