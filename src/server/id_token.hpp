// OpenID Connect ID tokens, verified: the signature against the provider's published keys
// (JWKS) with cjose (OpenSSL underneath), then the claims. Only RS256 (RSA of at least 2048
// bits) and ES256 (P-256) are accepted, and only with a key of that type: `alg=none`, HS256
// signed with a public key as its secret, and every other algorithm are refused before any
// signature is computed. Claims: `iss` is the configured issuer exactly, `aud` holds the client
// id (and with several audiences `azp` is the client), `exp`, `nbf` and `iat` hold within the
// clock skew, `sub` is present, and `nonce` matches when the sign-in sent one.
#pragma once

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace datafix::server {

// The provider's signing keys (the JSON of its jwks_uri). Keys of other types or uses
// (encryption keys, symmetric keys) are left out.
class Jwks {
  public:
    Jwks();
    ~Jwks();
    Jwks(Jwks&&) noexcept;
    Jwks& operator=(Jwks&&) noexcept;

    // Error(unreachable) naming the provider's answer when the document is not a JWKS.
    static Jwks parse(std::string_view json);

    std::size_t size() const;
    bool has_key(std::string_view kid) const;

    struct Entry;

  private:
    friend struct IdTokenVerifier;
    std::vector<std::unique_ptr<Entry>> keys_;
};

enum class IdTokenFailure {
    malformed,      // not three base64url parts of JSON
    algorithm,      // none, HS256, or anything but RS256/ES256
    unknown_key,    // no published key has the token's kid (the provider may have rotated)
    signature,      // the signature does not verify with the key
    issuer,         // iss is not the configured issuer
    audience,       // aud does not name this client (or azp is another client)
    expired,        // exp passed (beyond the clock skew)
    not_yet_valid,  // nbf or iat in the future (beyond the clock skew)
    nonce,          // nonce missing or not the sign-in's
    subject,        // no sub
};

struct IdTokenExpectations {
    std::string issuer;
    std::string audience;              // the client id
    std::optional<std::string> nonce;  // checked when the sign-in sent one
    std::chrono::milliseconds clock_skew{std::chrono::seconds{60}};
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
};

struct IdTokenCheck {
    bool valid = false;
    IdTokenFailure failure = IdTokenFailure::malformed;
    std::string reason;     // lowercase, never quoting the token
    nlohmann::json claims;  // the verified payload (valid only)
};

std::string_view id_token_failure_name(IdTokenFailure failure);

IdTokenCheck verify_id_token(std::string_view token, const Jwks& keys,
                             const IdTokenExpectations& expected);

}  // namespace datafix::server
