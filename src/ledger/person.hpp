// People of the runbook and their roles. A person authenticates with a token that the ledger
// stores only as a SHA-256 hash; the token itself exists once, when it is issued.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace datafix::ledger {

using UserId = std::int64_t;

enum class Role {
    developer,
    product_owner,
    admin,
};

std::string_view role_name(Role role);
std::optional<Role> parse_role(std::string_view name);

struct Person {
    UserId id = 0;
    std::string name;
    std::string email;
    Role role = Role::developer;
    bool active = true;
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

}  // namespace datafix::ledger
