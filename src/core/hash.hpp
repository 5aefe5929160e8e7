// Hashing (libsodium): SHA-256 of exact bytes as lowercase hex, and an incremental hasher for
// fingerprints over streams of rows.
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

std::string to_hex(std::string_view bytes);

}  // namespace datafix
