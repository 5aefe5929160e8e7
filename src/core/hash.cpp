// SHA-256 via OpenSSL (it uses the CPU's SHA instructions where there are any); hex and base64
// via libsodium.
#include "core/hash.hpp"

#include <openssl/evp.h>
#include <sodium.h>

#include <array>
#include <cstdint>
#include <stdexcept>

namespace datafix {

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
    EVP_MD_CTX* ctx = nullptr;
    ~State() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : state_(std::make_unique<State>()) {
    state_->ctx = EVP_MD_CTX_new();
    if (state_->ctx == nullptr || EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("OpenSSL could not start a SHA-256 digest");
    }
}

Sha256::~Sha256() = default;

void Sha256::update(std::string_view bytes) {
    if (EVP_DigestUpdate(state_->ctx, bytes.data(), bytes.size()) != 1) {
        throw std::runtime_error("OpenSSL SHA-256 update failed");
    }
}

void Sha256::update_field(std::string_view bytes) {
    const std::uint64_t n = bytes.size();
    std::array<unsigned char, 8> len{};
    for (int i = 0; i < 8; ++i) {
        len[i] = static_cast<unsigned char>(n >> (8 * i));
    }
    update(std::string_view(reinterpret_cast<const char*>(len.data()), len.size()));
    update(bytes);
}

std::string Sha256::hex_digest() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(state_->ctx, out.data(), &n) != 1) {
        throw std::runtime_error("OpenSSL SHA-256 final failed");
    }
    return to_hex(std::string_view(reinterpret_cast<const char*>(out.data()), n));
}

}  // namespace datafix
