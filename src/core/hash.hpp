// Hashing (libsodium): SHA-256 of exact bytes as lowercase hex, and an incremental hasher for
// fingerprints over streams of rows; hex and base64 encoding.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace datafix {

std::string sha256_hex(std::string_view bytes);

class Sha256 {
  public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    // Feeds bytes; update_field also feeds a length prefix so ("ab","c") != ("a","bc").
    void update(std::string_view bytes);
    void update_field(std::string_view bytes);
    std::string hex_digest();

  private:
    struct State;
    std::unique_ptr<State> state_;
};

// Lowercase hex, two digits per byte.
std::string to_hex(std::string_view bytes);
// Base64 with the standard alphabet and padding (RFC 4648 section 4), e.g. for RFC 2047 headers.
std::string to_base64(std::string_view bytes);

}  // namespace datafix
