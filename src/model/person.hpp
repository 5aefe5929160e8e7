// People of the runbook and their roles. A person authenticates with a token that the ledger
// stores only as a SHA-256 hash; the token itself exists once, when it is issued. A token
// expires, has a scope (read-only tokens take no steps), and remembers the admin who issued it
// for someone else: steps taken with it count as that admin's too, for four-eyes. An account
// remembers the admin who created it and the second admin who confirmed it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "model/time.hpp"

namespace datafix::model {

using UserId = std::int64_t;

enum class Role {
    developer,
    product_owner,
    admin,
    // Signed in, nothing more: someone the sign-in provider vouched for and datafix created
    // (unknown_people = "create"), until an administrator gives them a role. They read their
    // inbox and the requests they are a member of; they file nothing and take no step.
    none,
};

std::string_view role_name(Role role);
std::optional<Role> parse_role(std::string_view name);

enum class TokenScope {
    full,  // every step the person's role allows
    read,  // reading only: no step, no change
};

std::string_view token_scope_name(TokenScope scope);
std::optional<TokenScope> parse_token_scope(std::string_view name);

inline constexpr std::chrono::milliseconds kDefaultTokenLifetime = std::chrono::days(90);

struct Person {
    UserId id = 0;
    std::string name;
    std::string email;
    Role role = Role::developer;
    bool active = true;
    // The person's current token (none after deactivation).
    TokenScope token_scope = TokenScope::full;
    std::optional<Time> token_expires_at;
    // The admin who issued the current token for this person (rotated it); 0: the person did.
    // Kept when the person rotates that token again, so the admin cannot launder it.
    UserId token_issued_by = 0;
    // The admin who created the account through the API (0: `datafix init`, a provider's
    // sign-in, or before accounts were confirmed), and the second admin who confirmed it (0: not
    // confirmed). Until then the creator, who saw its first token, may be the one using it.
    UserId created_by = 0;
    UserId confirmed_by = 0;
    // Acting through a session the OpenID Connect provider vouched for, not through a token.
    bool signed_in_with_provider = false;
};

// How a token is issued.
struct TokenOptions {
    TokenScope scope = TokenScope::full;
    std::chrono::milliseconds lifetime = kDefaultTokenLifetime;
};

// What the ledger needs to create a person; the id and the token come back from the ledger.
struct NewPerson {
    std::string name;
    std::string email;
    Role role = Role::developer;
};

// A freshly issued token: shown to its owner once, never stored in clear.
struct IssuedToken {
    Person person;
    std::string token;
};

}  // namespace datafix::model
