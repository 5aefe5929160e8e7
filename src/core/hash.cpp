// SHA-256, hex and base64 via libsodium.
#include "core/hash.hpp"

#include <sodium.h>

#include <array>
#include <cstdint>
#include <stdexcept>

namespace datafix {

namespace {
void ensure_sodium() {
    static const bool ready = sodium_init() >= 0;
    if (!ready) {
        throw std::runtime_error("libsodium failed to initialise");
    }
}
}  // namespace

// Neither encoder needs sodium_init.
std::string to_hex(std::string_view bytes) {
    std::string out(bytes.size() * 2 + 1, '\0');  // sodium_bin2hex writes a terminating NUL
    sodium_bin2hex(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                   bytes.size());
    out.pop_back();
    return out;
}

std::string to_base64(std::string_view bytes) {
    constexpr int variant = sodium_base64_VARIANT_ORIGINAL;
    std::string out(sodium_base64_ENCODED_LEN(bytes.size(), variant), '\0');  // NUL included
    sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                      bytes.size(), variant);
    out.pop_back();
    return out;
}

std::string sha256_hex(std::string_view bytes) {
    Sha256 h;
    h.update(bytes);
    return h.hex_digest();
}

struct Sha256::State {
    crypto_hash_sha256_state st;
};

Sha256::Sha256() : state_(std::make_unique<State>()) {
    ensure_sodium();
    crypto_hash_sha256_init(&state_->st);
}

Sha256::~Sha256() = default;

void Sha256::update(std::string_view bytes) {
    crypto_hash_sha256_update(&state_->st, reinterpret_cast<const unsigned char*>(bytes.data()),
                              bytes.size());
}

void Sha256::update_field(std::string_view bytes) {
    const std::uint64_t n = bytes.size();
    std::array<unsigned char, 8> len{};
    for (int i = 0; i < 8; ++i) {
        len[i] = static_cast<unsigned char>(n >> (8 * i));
    }
    crypto_hash_sha256_update(&state_->st, len.data(), len.size());
    update(bytes);
}

std::string Sha256::hex_digest() {
    std::array<unsigned char, crypto_hash_sha256_BYTES> out{};
    crypto_hash_sha256_final(&state_->st, out.data());
    return to_hex(std::string_view(reinterpret_cast<const char*>(out.data()), out.size()));
}

}  // namespace datafix
