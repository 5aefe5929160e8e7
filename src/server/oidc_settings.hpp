// [auth.oidc] of datafix.toml: sign-in through the organisation's OpenID Connect provider
// (Keycloak, ...) for the pages (authorization code flow with PKCE) and the CLI (device
// authorization grant). People's tokens keep working beside it, for automation.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "model/person.hpp"

namespace datafix::server {

// Which claim names the person in the audit trail.
enum class OidcIdentityClaim { sub, email };
// Where a signed-in person's datafix role comes from: a claim of the ID token (groups or roles)
// mapped to datafix's roles, or datafix's own people table (matched by verified e-mail).
enum class OidcRoleSource { claim, people };
// A verified e-mail datafix does not know: refused, or created — with roles_from = "claim" with
// the claim's role (a claim that maps to no role is refused), with roles_from = "people" with no
// role (model::Role::none) until an administrator gives them one.
enum class OidcUnknownPeople { refuse, create };

struct OidcSettings {
    std::string issuer;  // discovery at <issuer>/.well-known/openid-configuration
    std::string client_id;
    std::string client_secret;  // from client_secret_file or client_secret_env, never the file
    std::vector<std::string> scopes{"openid", "email", "profile"};
    // This server as browsers reach it: the redirect URI is <public_url>/auth/callback, and a
    // state-changing call with a session cookie must come from this origin. The session cookie
    // is Secure unless public_url is plain http on a loopback host (127.0.0.1, localhost, [::1]).
    std::string public_url;
    OidcIdentityClaim identity_claim = OidcIdentityClaim::email;
    OidcRoleSource roles_from = OidcRoleSource::people;
    std::string roles_claim = "groups";  // a list of strings (or one string) in the ID token
    // datafix role -> the claim values that give it; the highest role a person holds wins.
    std::map<model::Role, std::vector<std::string>> role_map;
    OidcUnknownPeople unknown_people = OidcUnknownPeople::refuse;
    std::chrono::milliseconds session_lifetime{std::chrono::hours{12}};
    std::chrono::milliseconds cli_session_lifetime{std::chrono::hours{24 * 30}};
    // Allowed difference between the provider's clock and this server's for exp, nbf and iat.
    std::chrono::milliseconds clock_skew{std::chrono::seconds{60}};

    // The cookie carries Secure (see public_url).
    bool secure_cookie() const;
    // scheme://host[:port] of public_url: the Origin a browser sends with its calls.
    std::string public_origin() const;
    std::string redirect_uri() const { return public_origin() + "/auth/callback"; }
};

}  // namespace datafix::server
