// Sign-in through the OpenID Connect provider: turning a verified ID token into a datafix
// person (identity claim, role from a claim or from datafix's people, unknown people refused or
// created), and a session in the ledger. Every sign-in, refusal and sign-out is audited with the
// identity and the provider; no token ever reaches a log or the audit trail.
#pragma once

#include <optional>
#include <string>

#include "ledger/sign_in.hpp"
#include "model/person.hpp"
#include "server/context.hpp"
#include "server/http.hpp"
#include "server/oidc_provider.hpp"

namespace datafix::server {

struct SignedIn {
    std::string token;  // the session's, shown once (a cookie, or the CLI's stored token)
    model::Person person;
    model::Time expires_at{};
    std::string return_to;  // the browser flow's deep link
};

class SignIn {
  public:
    SignIn(Context& context, const OidcSettings& settings);

    const OidcSettings& settings() const { return provider_.settings(); }

    // Starts the browser's authorization code flow: the URL to send the browser to. `return_to`
    // is where the browser goes after signing in (a path on this server; anything else is "/").
    std::string begin(const std::string& return_to);
    // The provider's redirect: the state must be a pending sign-in's (each is taken once), the
    // code is exchanged, the ID token verified with that sign-in's nonce.
    SignedIn finish(const std::string& code, const std::string& state);

    DeviceAuthorization start_device();
    // Pending: nothing. Error(unauthenticated) when the person declined or the code expired.
    std::optional<SignedIn> poll_device(const std::string& device_code, bool& slow_down);

    // Ends a session (sign-out); false when it was unknown or ended already.
    bool sign_out(const std::string& token);

  private:
    SignedIn open(const IdTokenCheck& check, ledger::SessionKind kind);
    [[noreturn]] void refuse(const std::string& rule, const std::string& message,
                             const std::string& hint, const std::string& identity = {});

    Context& context_;
    OidcProvider provider_;
};

// The session token of a request: the `datafix_session` cookie's value ("" when none).
std::string session_cookie(const Request& req);
// The CSRF token that goes with a session (derived from it; the pages read it from
// /auth/session and send it as X-CSRF-Token with every state-changing call).
std::string csrf_token_for(const std::string& session_token);

// The person of a session: the cookie (a state-changing call must carry the session's CSRF token
// and, when the browser sends one, this server's Origin) or a "dfs_" bearer token (the CLI).
// Nothing when the request carries neither; Error(unauthenticated) for an unknown, ended or
// expired session.
std::optional<model::Person> authenticate_session(Context& context, const Request& req,
                                                  const std::string& bearer);

}  // namespace datafix::server
