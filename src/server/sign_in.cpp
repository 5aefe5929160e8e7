// Sign-in: from a verified ID token to a person and a session. See sign_in.hpp.
#include "server/sign_in.hpp"

#include <algorithm>

#include "core/hash.hpp"
#include "ledger/token.hpp"
#include "server/api_error.hpp"
#include "server/state_json.hpp"

namespace datafix::server {

namespace {

constexpr std::chrono::minutes kSignInValidFor{10};

bool claim_true(const nlohmann::json& claims, const char* name) {
    auto it = claims.find(name);
    return it != claims.end() && (*it == true || *it == "true");
}

// The values of a claim, which may be nested ("realm_access.roles", Keycloak's realm roles) and
// may be one string or a list of strings.
std::vector<std::string> claim_values(const nlohmann::json& claims, const std::string& path) {
    const nlohmann::json* node = &claims;
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t dot = path.find('.', start);
        std::string part =
            path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        if (!node->is_object() || !node->contains(part)) {
            // A claim named with a dot (e.g. a URI) is looked up whole as well.
            if (node == &claims && claims.contains(path)) {
                node = &claims[path];
                break;
            }
            return {};
        }
        node = &(*node)[part];
        if (dot == std::string::npos) {
            break;
        }
        start = dot + 1;
    }
    std::vector<std::string> values;
    if (node->is_string()) {
        values.push_back(node->get<std::string>());
    } else if (node->is_array()) {
        for (const auto& v : *node) {
            if (v.is_string()) {
                values.push_back(v.get<std::string>());
            }
        }
    }
    return values;
}

std::optional<model::Role> mapped_role(const OidcSettings& settings, const nlohmann::json& claims) {
    const auto values = claim_values(claims, settings.roles_claim);
    // The highest role the person holds wins.
    for (model::Role role :
         {model::Role::admin, model::Role::product_owner, model::Role::developer}) {
        auto it = settings.role_map.find(role);
        if (it == settings.role_map.end()) {
            continue;
        }
        for (const auto& wanted : it->second) {
            if (std::find(values.begin(), values.end(), wanted) != values.end()) {
                return role;
            }
        }
    }
    return std::nullopt;
}

model::AuditEvent event_now(model::UserId actor) {
    model::AuditEvent event;
    event.at = model::wall_clock_now();
    event.actor = actor;
    return event;
}

std::string cookie_value(const std::string& header, std::string_view name) {
    std::size_t pos = 0;
    while (pos < header.size()) {
        std::size_t end = header.find(';', pos);
        std::string part =
            header.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
        part.erase(0, part.find_first_not_of(' '));
        if (part.size() > name.size() && part.compare(0, name.size(), name) == 0 &&
            part[name.size()] == '=') {
            return part.substr(name.size() + 1);
        }
        if (end == std::string::npos) {
            break;
        }
        pos = end + 1;
    }
    return {};
}

}  // namespace

SignIn::SignIn(Context& context, const OidcSettings& settings)
    : context_(context), provider_(settings, context.log()) {}

void SignIn::refuse(const std::string& rule, const std::string& message, const std::string& hint,
                    const std::string& identity) {
    model::AuditEvent event = event_now(0);
    event.action = "session.refused";
    event.detail = "provider=" + settings().issuer + " reason=" + rule +
                   (identity.empty() ? "" : " identity=" + identity);
    context_.with_ledger([&](ledger::Ledger& l) { return l.append_audit(event); });
    context_.log().warn("sign-in refused: {} ({})", rule, settings().issuer);
    throw ApiError(ErrorCode::unauthenticated, rule, message, hint);
}

std::string SignIn::begin(const std::string& return_to) {
    ledger::PendingSignIn pending;
    pending.state = random_url_token();
    pending.nonce = random_url_token();
    pending.code_verifier = random_url_token();
    // Only a path on this server: never an open redirect to another site.
    pending.return_to =
        !return_to.empty() && return_to.front() == '/' &&
                (return_to.size() < 2 || (return_to[1] != '/' && return_to[1] != '\\'))
            ? return_to
            : "/";
    pending.expires_at = model::wall_clock_now() + kSignInValidFor;
    std::string url = provider_.authorization_url(pending.state, pending.nonce,
                                                  pkce_challenge(pending.code_verifier));
    context_.with_ledger([&](ledger::Ledger& l) {
        l.begin_sign_in(pending);
        return 0;
    });
    return url;
}

SignedIn SignIn::finish(const std::string& code, const std::string& state) {
    auto pending = context_.with_ledger(
        [&](ledger::Ledger& l) { return l.take_sign_in(state, model::wall_clock_now()); });
    if (!pending) {
        refuse("sign-in-state",
               "this sign-in is unknown, was used already or took longer than 10 minutes",
               "sign in again from the start");
    }
    if (code.empty()) {
        refuse("sign-in-code", "the sign-in provider sent no authorization code",
               "sign in again from the start");
    }
    std::string id_token = provider_.exchange_code(code, pending->code_verifier);
    IdTokenCheck check = provider_.verify(id_token, pending->nonce);
    SignedIn signed_in = open(check, ledger::SessionKind::browser);
    signed_in.return_to = pending->return_to;
    return signed_in;
}

DeviceAuthorization SignIn::start_device() {
    return provider_.start_device_authorization();
}

std::optional<SignedIn> SignIn::poll_device(const std::string& device_code, bool& slow_down) {
    slow_down = false;
    DevicePoll poll = provider_.poll_device(device_code);
    switch (poll.outcome) {
        case DevicePoll::Outcome::pending:
            return std::nullopt;
        case DevicePoll::Outcome::slow_down:
            slow_down = true;
            return std::nullopt;
        case DevicePoll::Outcome::denied:
            refuse("sign-in-denied", "the sign-in was declined at the provider",
                   "run datafix login again and approve it");
        case DevicePoll::Outcome::expired:
            refuse("sign-in-expired", "the device code expired or is unknown",
                   "run datafix login again and finish it before the code expires");
        case DevicePoll::Outcome::id_token:
            break;
    }
    // The device grant sends no nonce: the ID token comes straight from the token endpoint.
    return open(provider_.verify(poll.id_token, std::nullopt), ledger::SessionKind::cli);
}

SignedIn SignIn::open(const IdTokenCheck& check, ledger::SessionKind kind) {
    const OidcSettings& s = settings();
    if (!check.valid) {
        refuse("id-token-" + std::string(id_token_failure_name(check.failure)),
               "the sign-in provider's ID token was refused: " + check.reason,
               "sign in again; if it repeats, check [auth.oidc] issuer and client_id and the "
               "server's clock");
    }
    const nlohmann::json& claims = check.claims;
    const std::string email = claims.value("email", "");
    const bool verified = !email.empty() && claim_true(claims, "email_verified");
    const std::string identity = s.identity_claim == OidcIdentityClaim::sub
                                     ? "sub:" + claims["sub"].get<std::string>()
                                     : "email:" + email;
    if (!verified) {
        refuse("email-unverified",
               "the sign-in provider vouches for no verified e-mail address of yours",
               "verify your e-mail address at the provider (datafix matches people by it)",
               s.identity_claim == OidcIdentityClaim::sub ? identity : std::string());
    }
    std::optional<model::Role> claimed;
    if (s.roles_from == OidcRoleSource::claim) {
        claimed = mapped_role(s, claims);
        if (!claimed) {
            refuse("no-role",
                   "the sign-in provider gives you no datafix role (claim " + s.roles_claim + ")",
                   "ask an administrator to add you to a group that [auth.oidc.role_map] maps",
                   identity);
        }
    }
    auto person =
        context_.with_ledger([&](ledger::Ledger& l) { return l.find_user_by_email(email); });
    if (!person && s.unknown_people == OidcUnknownPeople::create) {
        // With roles from the claim the person takes the claim's role; with roles from
        // datafix's people they have none until an administrator gives them one.
        model::NewPerson created;
        created.email = email;
        created.name = claims.value("name", email);
        created.role = claimed.value_or(model::Role::none);
        model::AuditEvent event = event_now(0);
        event.detail = "provider=" + s.issuer;
        person =
            context_.with_ledger([&](ledger::Ledger& l) { return l.create_user(created, event); })
                .person;
        context_.forget_people();
    }
    if (!person) {
        refuse("unknown-person", "datafix knows no person with your e-mail address",
               "ask an administrator to add you (datafix users add)", identity);
    }
    if (!person->active) {
        refuse("person-deactivated", "your datafix account is deactivated", "ask an administrator",
               identity);
    }
    ledger::NewSession session;
    session.person = person->id;
    session.kind = kind;
    session.provider = s.issuer;
    session.identity = identity;
    session.role = claimed;
    const auto lifetime =
        kind == ledger::SessionKind::cli ? s.cli_session_lifetime : s.session_lifetime;
    model::AuditEvent event = event_now(person->id);
    session.expires_at = event.at + lifetime;
    SignedIn signed_in;
    signed_in.token =
        context_.with_ledger([&](ledger::Ledger& l) { return l.open_session(session, event); });
    signed_in.person = *person;
    if (claimed) {
        signed_in.person.role = *claimed;
    }
    signed_in.expires_at = session.expires_at;
    context_.log().info("signed in: user {} ({}) through {}", person->id,
                        ledger::session_kind_name(kind), s.issuer);
    return signed_in;
}

bool SignIn::sign_out(const std::string& token) {
    model::AuditEvent event = event_now(0);
    bool closed =
        context_.with_ledger([&](ledger::Ledger& l) { return l.close_session(token, event); });
    if (closed) {
        context_.log().info("signed out of a session through {}", settings().issuer);
    }
    return closed;
}

std::string session_cookie(const Request& req) {
    return cookie_value(req.get_header_value("Cookie"), "datafix_session");
}

std::string csrf_token_for(const std::string& session_token) {
    return sha256_hex("datafix-csrf:" + session_token);
}

std::optional<model::Person> authenticate_session(Context& context, const Request& req,
                                                  const std::string& bearer) {
    std::string token = bearer;
    const bool from_cookie = token.empty();
    if (from_cookie) {
        token = session_cookie(req);
    }
    if (token.empty() || token.rfind("dfs_", 0) != 0 || !context.config().oidc) {
        return std::nullopt;
    }
    auto session =
        context.with_ledger([&](ledger::Ledger& l) { return l.authenticate_session(token); });
    if (!session) {
        throw ApiError(ErrorCode::unauthenticated, "session-invalid",
                       "the session is unknown, ended, or its person was deactivated",
                       "sign in again");
    }
    if (session->expires_at <= model::wall_clock_now()) {
        const std::string expired =
            "your sign-in session expired at " + format_time(session->expires_at);
        if (session->kind == ledger::SessionKind::cli) {
            throw ApiError(ErrorCode::unauthenticated, "session-expired", expired,
                           "sign in again with datafix login");
        }
        throw ApiError(ErrorCode::unauthenticated, "session-expired", expired,
                       "sign in again: reload the page and choose to sign in");
    }
    // A cookie is sent by the browser on its own: a state-changing call must prove it comes
    // from datafix's own pages (SameSite=Lax already keeps cross-site POSTs from carrying it).
    if (from_cookie && req.method != "GET" && req.method != "HEAD") {
        const std::string origin = req.get_header_value("Origin");
        if (!origin.empty() && origin != context.config().oidc->public_origin()) {
            throw ApiError(ErrorCode::forbidden, "csrf-origin",
                           "this call comes from another site (Origin " + origin + ")",
                           "use datafix's own pages");
        }
        if (req.get_header_value("X-CSRF-Token") != csrf_token_for(token)) {
            throw ApiError(ErrorCode::forbidden, "csrf-token",
                           "this call carries no valid CSRF token for the session",
                           "reload the page and try again");
        }
    }
    return session->person;
}

}  // namespace datafix::server
