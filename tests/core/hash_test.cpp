// SHA-256 as the SQL guard, the ledger and the evidence use it.
#include <gtest/gtest.h>

#include "core/hash.hpp"

namespace datafix {
namespace {

TEST(Sha256, KnownVectors) {
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256_hex("abc"),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, IncrementalEqualsOneShot) {
    Sha256 h;
    h.update("ab");
    h.update("c");
    EXPECT_EQ(h.hex_digest(), sha256_hex("abc"));
}

TEST(Sha256, FieldsAreLengthPrefixedSoBoundariesMatter) {
    Sha256 a;
    a.update_field("ab");
    a.update_field("c");
    Sha256 b;
    b.update_field("a");
    b.update_field("bc");
    EXPECT_NE(a.hex_digest(), b.hex_digest());
}

}  // namespace
}  // namespace datafix
