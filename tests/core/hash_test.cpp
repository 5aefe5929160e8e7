// SHA-256 as the SQL guard, the ledger and the evidence use it; hex and base64 as tokens, hashes
// and mail headers carry them.
#include <gtest/gtest.h>

#include <numeric>
#include <string>

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

std::string every_byte(std::size_t n) {
    std::string bytes(n, '\0');
    std::iota(bytes.begin(), bytes.end(), '\0');
    return bytes;
}

TEST(Hex, EveryByteIsTwoLowercaseDigits) {
    EXPECT_EQ(to_hex(""), "");
    EXPECT_EQ(to_hex(every_byte(256)),
              "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
              "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
              "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
              "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
              "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
              "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
              "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
              "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
}

// A token is "dfx_" and the hex of 32 random bytes, stored as the SHA-256 hex of that text: a
// token issued before must still hash to what the ledger holds.
TEST(Hex, ATokenOfKnownBytesHashesToTheStoredValue) {
    const std::string token = "dfx_" + to_hex(every_byte(32));
    EXPECT_EQ(token, "dfx_000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    EXPECT_EQ(sha256_hex(token),
              "979e3ef44567b690d2de9b2dd11e4d6e72193a761a2e2f96a917ca6b6e61121a");
}

TEST(Base64, Rfc4648Vectors) {
    EXPECT_EQ(to_base64(""), "");
    EXPECT_EQ(to_base64("f"), "Zg==");
    EXPECT_EQ(to_base64("fo"), "Zm8=");
    EXPECT_EQ(to_base64("foo"), "Zm9v");
    EXPECT_EQ(to_base64("foob"), "Zm9vYg==");
    EXPECT_EQ(to_base64("fooba"), "Zm9vYmE=");
    EXPECT_EQ(to_base64("foobar"), "Zm9vYmFy");
}

TEST(Base64, EveryByteAndAUtf8Subject) {
    EXPECT_EQ(to_base64("\xc3\x84nderung f\xc3\xbcr Kunde 42"), "w4RuZGVydW5nIGbDvHIgS3VuZGUgNDI=");
    EXPECT_EQ(to_base64(every_byte(256)),
              "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+"
              "P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9"
              "fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8"
              "vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7"
              "/P3+/w==");
}

}  // namespace
}  // namespace datafix
