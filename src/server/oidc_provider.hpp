// The organisation's OpenID Connect provider as datafix talks to it (libcurl): discovery
// (<issuer>/.well-known/openid-configuration), the key set (fetched again, at most every 10 s,
// when a token names a key it does not hold: the provider rotated its keys), the authorization
// code exchange with PKCE, and the device authorization grant for the CLI. The client secret
// goes in the Authorization header (client_secret_basic); no token or secret is ever logged.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>

#include <spdlog/logger.h>

#include "server/id_token.hpp"
#include "server/oidc_settings.hpp"

namespace datafix::server {

struct ProviderMetadata {
    std::string issuer;
    std::string authorization_endpoint;
    std::string token_endpoint;
    std::string jwks_uri;
    std::string device_authorization_endpoint;  // empty: the provider has no device grant
    std::string end_session_endpoint;           // empty: none
};

struct DeviceAuthorization {
    std::string device_code;
    std::string user_code;
    std::string verification_uri;
    std::string verification_uri_complete;
    int interval = 5;
    int expires_in = 600;
};

// What one poll of the device grant gave: still waiting, or an ID token, or a refusal.
struct DevicePoll {
    enum class Outcome { pending, slow_down, id_token, denied, expired };
    Outcome outcome = Outcome::pending;
    std::string id_token;
};

class OidcProvider {
  public:
    OidcProvider(OidcSettings settings, spdlog::logger& log);

    const OidcSettings& settings() const { return settings_; }
    // Discovered once and kept; Error(unreachable) naming the issuer when it cannot be read.
    ProviderMetadata metadata();

    // The URL a browser is sent to for the authorization code flow with PKCE (S256).
    std::string authorization_url(const std::string& state, const std::string& nonce,
                                  const std::string& code_challenge);
    // The ID token the token endpoint gives for `code`; Error(unauthenticated) when refused.
    std::string exchange_code(const std::string& code, const std::string& code_verifier);

    DeviceAuthorization start_device_authorization();
    DevicePoll poll_device(const std::string& device_code);

    // Verifies with the provider's keys (fetched again once when the token's key is unknown).
    IdTokenCheck verify(const std::string& id_token, const std::optional<std::string>& nonce);

  private:
    struct HttpAnswer {
        long status = 0;
        std::string body;
    };
    HttpAnswer get(const std::string& url);
    HttpAnswer post_form(const std::string& url, const std::string& form);
    void refresh_keys(bool force);

    OidcSettings settings_;
    spdlog::logger& log_;
    std::mutex mutex_;
    std::optional<ProviderMetadata> metadata_;
    Jwks keys_;
    std::optional<std::chrono::steady_clock::time_point> keys_fetched_;
    std::optional<std::chrono::steady_clock::time_point> last_forced_fetch_;
};

// PKCE: a random verifier and its S256 challenge; random state and nonce values.
std::string random_url_token();
std::string pkce_challenge(const std::string& verifier);

}  // namespace datafix::server
