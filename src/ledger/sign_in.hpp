// Sign-in through the organisation's OpenID Connect provider, as the ledger keeps it: a pending
// sign-in (the `state` the provider hands back, its nonce and PKCE verifier, the page to return
// to) lives until its callback takes it — once — or it expires; a session is a random token the
// ledger keeps only as its SHA-256, like a person's token, with its kind (a browser's cookie or
// the CLI's stored token), the provider that vouched for the person, and an expiry. Ending a
// session, or deactivating its person, stops it at once.
#pragma once

#include <optional>
#include <string>

#include "ledger/model_types.hpp"
#include "model/person.hpp"
#include "model/time.hpp"

namespace datafix::ledger {

struct PendingSignIn {
    std::string state;  // the ledger keeps its SHA-256 only
    std::string nonce;
    std::string code_verifier;  // sealed at rest
    std::string return_to;      // a path on this server
    Time expires_at{};
};

enum class SessionKind { browser, cli };

std::string_view session_kind_name(SessionKind kind);

struct NewSession {
    UserId person = 0;
    SessionKind kind = SessionKind::browser;
    std::string provider;  // the issuer that vouched for the person
    std::string identity;  // the provider's name for the person (sub or e-mail), for the audit
    // The role the provider's claim gave ([auth.oidc] roles_from = "claim"); none: the person's.
    std::optional<Role> role;
    Time expires_at{};
};

// An open session's person (token scope full, expiring with the session, issued by nobody else).
struct SessionPerson {
    Person person;
    SessionKind kind = SessionKind::browser;
    std::string provider;
    Time expires_at{};
};

// "dfs_" + 64 hex digits: told apart from a person's "dfx_" token at a glance.
std::string generate_session_token();

}  // namespace datafix::ledger
