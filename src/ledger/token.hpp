// Tokens: 32 random bytes (libsodium randombytes) shown once as "dfx_" + 64 hex digits; the
// ledger keeps only their SHA-256.
#pragma once

#include <string>
#include <string_view>

namespace datafix::ledger {

std::string generate_token();
std::string token_hash(std::string_view token);

}  // namespace datafix::ledger
