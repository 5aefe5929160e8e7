// Encryption at rest (libsodium). A server has one 32-byte key in a key file (mode 0600).
// Small values (statement text, verify results) are sealed with XChaCha20-Poly1305 secretbox;
// large streams (row images) go through secretstream in chunks, so memory stays bounded.
#pragma once

#include <array>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

namespace datafix {

class Key {
  public:
    static constexpr std::size_t kSize = 32;

    static Key generate();
    // Creates `path` with mode 0600 holding a new key; refuses to overwrite an existing file.
    static Key create_file(const std::string& path);
    // Reads a key file; refuses one that group or others can read.
    static Key load_file(const std::string& path);

    const unsigned char* data() const { return bytes_.data(); }
    ~Key();
    Key(const Key&) = default;
    Key& operator=(const Key&) = default;

  private:
    Key() = default;
    std::array<unsigned char, kSize> bytes_{};
};

// A keyed MAC (BLAKE2b-256 with a Key): whoever lacks the key can neither compute nor forge it.
// Fields are length-prefixed like Sha256::update_field, so ("ab","c") != ("a","bc").
class KeyedHash {
  public:
    explicit KeyedHash(const Key& key);
    ~KeyedHash();
    KeyedHash(const KeyedHash&) = delete;
    KeyedHash& operator=(const KeyedHash&) = delete;

    void update_field(std::string_view bytes);
    std::string hex_digest();  // 64 lowercase hex digits

  private:
    struct State;
    std::unique_ptr<State> state_;
};

// nonce || ciphertext; open() throws datafix::Error(internal) when the bytes were tampered with.
std::string seal(const Key& key, std::string_view plaintext);
std::string open_sealed(const Key& key, std::string_view sealed);

// Streams plaintext records into an encrypted file. Each write() is one record; records are
// buffered into chunks of ~64 KiB before encryption.
class SealedFileWriter {
  public:
    // Creates with mode 0600. finish() makes the file durable (fsync) unless `durable` is false:
    // for scratch files read back and removed within one operation.
    SealedFileWriter(const Key& key, const std::string& path, bool durable = true);
    ~SealedFileWriter();  // closes without finishing if needed
    SealedFileWriter(const SealedFileWriter&) = delete;
    SealedFileWriter& operator=(const SealedFileWriter&) = delete;

    void write(std::string_view record);
    void finish();  // writes the final chunk; the file is incomplete (and unreadable) without it
    std::size_t records() const { return records_; }

  private:
    void flush_chunk(bool final);
    struct State;
    std::unique_ptr<State> state_;
    std::string buffer_;
    std::size_t records_ = 0;
};

class SealedFileReader {
  public:
    SealedFileReader(const Key& key, const std::string& path);
    ~SealedFileReader();
    SealedFileReader(const SealedFileReader&) = delete;
    SealedFileReader& operator=(const SealedFileReader&) = delete;

    // Next record, false at the end. Throws datafix::Error on a truncated or tampered file.
    bool next(std::string& record);

  private:
    bool load_chunk();
    struct State;
    std::unique_ptr<State> state_;
    std::string chunk_;
    std::size_t pos_ = 0;
    bool finished_ = false;
};

}  // namespace datafix
