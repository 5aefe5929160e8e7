// Tokens: random, shown once, stored as SHA-256.
#include "ledger/token.hpp"

#include <sodium.h>

#include <array>
#include <stdexcept>

#include "core/hash.hpp"

namespace datafix::ledger {

std::string generate_token() {
    if (sodium_init() < 0) {
        throw std::runtime_error("libsodium failed to initialise");
    }
    std::array<unsigned char, 32> bytes{};
    randombytes_buf(bytes.data(), bytes.size());
    return "dfx_" +
           to_hex(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

std::string token_hash(std::string_view token) {
    return sha256_hex(token);
}

}  // namespace datafix::ledger
