// Encryption at rest with libsodium: secretbox for values, secretstream for record files.
// Record framing inside the plaintext: 4-byte little-endian length, then the bytes.
#include "core/crypto.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include "core/error.hpp"

namespace datafix {

namespace {

constexpr std::size_t kChunk = 64 * 1024;
constexpr char kMagic[8] = {'D', 'F', 'S', 'E', 'A', 'L', '0', '1'};

void ensure_sodium() {
    if (sodium_init() < 0) {
        throw Error(ErrorCode::internal, "libsodium failed to initialise");
    }
}

Error io_error(const std::string& what, const std::string& path) {
    return Error(ErrorCode::internal, what + " " + path + ": " + std::strerror(errno));
}

void write_all(int fd, const void* data, std::size_t n, const std::string& path) {
    const auto* p = static_cast<const unsigned char*>(data);
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw io_error("cannot write", path);
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
}

// Returns bytes read; less than n only at end of file.
std::size_t read_full(int fd, void* data, std::size_t n, const std::string& path) {
    auto* p = static_cast<unsigned char*>(data);
    std::size_t got = 0;
    while (got < n) {
        ssize_t r = ::read(fd, p + got, n - got);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw io_error("cannot read", path);
        }
        if (r == 0) {
            break;
        }
        got += static_cast<std::size_t>(r);
    }
    return got;
}

}  // namespace

Key::~Key() {
    sodium_memzero(bytes_.data(), bytes_.size());
}

Key Key::generate() {
    ensure_sodium();
    Key k;
    crypto_secretstream_xchacha20poly1305_keygen(k.bytes_.data());
    return k;
}

Key Key::create_file(const std::string& path) {
    Key k = generate();
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST) {
            throw Error(ErrorCode::config, "key file " + path + " already exists",
                        "keep the existing key: data sealed with it cannot be read without it");
        }
        throw io_error("cannot create key file", path);
    }
    write_all(fd, k.bytes_.data(), k.bytes_.size(), path);
    ::close(fd);
    return k;
}

Key Key::load_file(const std::string& path) {
    ensure_sodium();
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        throw Error(ErrorCode::config, "cannot open key file " + path + ": " + std::strerror(errno),
                    "run `datafix init` to create the ledger and its key file");
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
        ::close(fd);
        throw Error(ErrorCode::config, "key file " + path + " is readable by group or others",
                    "chmod 600 " + path);
    }
    Key k;
    std::size_t n = read_full(fd, k.bytes_.data(), k.bytes_.size(), path);
    unsigned char extra = 0;
    std::size_t more = read_full(fd, &extra, 1, path);
    ::close(fd);
    if (n != kSize || more != 0) {
        throw Error(ErrorCode::config, "key file " + path + " is not a datafix key (32 bytes)");
    }
    return k;
}

struct KeyedHash::State {
    crypto_generichash_state st;
};

KeyedHash::KeyedHash(const Key& key) : state_(std::make_unique<State>()) {
    ensure_sodium();
    crypto_generichash_init(&state_->st, key.data(), Key::kSize, 32);
}

KeyedHash::~KeyedHash() {
    sodium_memzero(&state_->st, sizeof(state_->st));
}

void KeyedHash::update_field(std::string_view bytes) {
    const std::uint64_t n = bytes.size();
    std::array<unsigned char, 8> len{};
    for (std::size_t i = 0; i < len.size(); ++i) {
        len[i] = static_cast<unsigned char>(n >> (8 * i));
    }
    crypto_generichash_update(&state_->st, len.data(), len.size());
    crypto_generichash_update(&state_->st, reinterpret_cast<const unsigned char*>(bytes.data()),
                              bytes.size());
}

std::string KeyedHash::hex_digest() {
    std::array<unsigned char, 32> out{};
    crypto_generichash_final(&state_->st, out.data(), out.size());
    std::string hex(out.size() * 2 + 1, '\0');
    sodium_bin2hex(hex.data(), hex.size(), out.data(), out.size());
    hex.pop_back();
    return hex;
}

std::string seal(const Key& key, std::string_view plaintext) {
    ensure_sodium();
    std::string out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plaintext.size(),
                    '\0');
    auto* nonce = reinterpret_cast<unsigned char*>(out.data());
    randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(nonce + crypto_secretbox_NONCEBYTES,
                          reinterpret_cast<const unsigned char*>(plaintext.data()),
                          plaintext.size(), nonce, key.data());
    return out;
}

std::string open_sealed(const Key& key, std::string_view sealed) {
    ensure_sodium();
    if (sealed.size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
        throw Error(ErrorCode::internal, "sealed value is truncated");
    }
    const auto* nonce = reinterpret_cast<const unsigned char*>(sealed.data());
    const std::size_t clen = sealed.size() - crypto_secretbox_NONCEBYTES;
    std::string out(clen - crypto_secretbox_MACBYTES, '\0');
    if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(out.data()),
                                   nonce + crypto_secretbox_NONCEBYTES, clen, nonce,
                                   key.data()) != 0) {
        throw Error(ErrorCode::internal,
                    "sealed value failed authentication (wrong key or tampered)");
    }
    return out;
}

struct SealedFileWriter::State {
    int fd = -1;
    std::string path;
    crypto_secretstream_xchacha20poly1305_state st{};
    bool finished = false;
    bool durable = true;
    off_t written = 0;       // bytes written so far
    off_t writing_from = 0;  // where the writeback not yet started begins
};

// Writeback of a durable file starts while it is written, in steps of this many bytes, so the
// fsync at finish() waits for the last step only rather than the whole file.
constexpr off_t kWritebackStep = off_t{4} << 20;

SealedFileWriter::SealedFileWriter(const Key& key, const std::string& path, bool durable)
    : state_(std::make_unique<State>()) {
    ensure_sodium();
    state_->path = path;
    state_->durable = durable;
    state_->fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (state_->fd < 0) {
        throw io_error("cannot create", path);
    }
    unsigned char header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
    crypto_secretstream_xchacha20poly1305_init_push(&state_->st, header, key.data());
    write_all(state_->fd, kMagic, sizeof kMagic, path);
    write_all(state_->fd, header, sizeof header, path);
    state_->written = static_cast<off_t>(sizeof kMagic + sizeof header);
    state_->writing_from = state_->written;
    buffer_.reserve(kChunk + 4096);
}

SealedFileWriter::~SealedFileWriter() {
    if (state_ && state_->fd >= 0) {
        ::close(state_->fd);
    }
}

void SealedFileWriter::write(std::string_view record) {
    const auto n = static_cast<std::uint32_t>(record.size());
    char len[4] = {static_cast<char>(n), static_cast<char>(n >> 8), static_cast<char>(n >> 16),
                   static_cast<char>(n >> 24)};
    buffer_.append(len, 4);
    buffer_.append(record);
    ++records_;
    if (buffer_.size() >= kChunk) {
        flush_chunk(false);
    }
}

void SealedFileWriter::flush_chunk(bool final) {
    std::vector<unsigned char> c(buffer_.size() + crypto_secretstream_xchacha20poly1305_ABYTES);
    unsigned long long clen = 0;
    crypto_secretstream_xchacha20poly1305_push(
        &state_->st, c.data(), &clen, reinterpret_cast<const unsigned char*>(buffer_.data()),
        buffer_.size(), nullptr, 0, final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
    const auto n = static_cast<std::uint32_t>(clen);
    unsigned char len[4] = {static_cast<unsigned char>(n), static_cast<unsigned char>(n >> 8),
                            static_cast<unsigned char>(n >> 16),
                            static_cast<unsigned char>(n >> 24)};
    write_all(state_->fd, len, 4, state_->path);
    write_all(state_->fd, c.data(), clen, state_->path);
    state_->written += static_cast<off_t>(4 + clen);
    if (state_->durable && state_->written - state_->writing_from >= kWritebackStep) {
        // Advisory: fsync at finish() is what makes the file durable and reports any error.
        ::sync_file_range(state_->fd, state_->writing_from, state_->written - state_->writing_from,
                          SYNC_FILE_RANGE_WRITE);
        state_->writing_from = state_->written;
    }
    buffer_.clear();
}

void SealedFileWriter::finish() {
    if (state_->finished) {
        return;
    }
    flush_chunk(true);
    if ((state_->durable && ::fsync(state_->fd) != 0) || ::close(state_->fd) != 0) {
        state_->fd = -1;
        throw io_error("cannot close", state_->path);
    }
    state_->fd = -1;
    state_->finished = true;
}

struct SealedFileReader::State {
    int fd = -1;
    std::string path;
    crypto_secretstream_xchacha20poly1305_state st{};
};

SealedFileReader::SealedFileReader(const Key& key, const std::string& path)
    : state_(std::make_unique<State>()) {
    ensure_sodium();
    state_->path = path;
    state_->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (state_->fd < 0) {
        throw io_error("cannot open", path);
    }
    char magic[sizeof kMagic];
    unsigned char header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
    if (read_full(state_->fd, magic, sizeof magic, path) != sizeof magic ||
        std::memcmp(magic, kMagic, sizeof kMagic) != 0 ||
        read_full(state_->fd, header, sizeof header, path) != sizeof header ||
        crypto_secretstream_xchacha20poly1305_init_pull(&state_->st, header, key.data()) != 0) {
        throw Error(ErrorCode::internal, "not a datafix sealed file (or wrong key): " + path);
    }
}

SealedFileReader::~SealedFileReader() {
    if (state_ && state_->fd >= 0) {
        ::close(state_->fd);
    }
}

bool SealedFileReader::load_chunk() {
    unsigned char len[4];
    std::size_t got = read_full(state_->fd, len, 4, state_->path);
    if (got == 0) {
        throw Error(ErrorCode::internal, "sealed file is truncated: " + state_->path);
    }
    const std::uint32_t n =
        len[0] | (len[1] << 8) | (len[2] << 16) | (static_cast<std::uint32_t>(len[3]) << 24);
    std::vector<unsigned char> c(n);
    if (got != 4 || n < crypto_secretstream_xchacha20poly1305_ABYTES ||
        read_full(state_->fd, c.data(), n, state_->path) != n) {
        throw Error(ErrorCode::internal, "sealed file is truncated: " + state_->path);
    }
    chunk_.resize(n - crypto_secretstream_xchacha20poly1305_ABYTES);
    unsigned long long mlen = 0;
    unsigned char tag = 0;
    if (crypto_secretstream_xchacha20poly1305_pull(&state_->st,
                                                   reinterpret_cast<unsigned char*>(chunk_.data()),
                                                   &mlen, &tag, c.data(), n, nullptr, 0) != 0) {
        throw Error(ErrorCode::internal, "sealed file failed authentication: " + state_->path);
    }
    chunk_.resize(mlen);
    pos_ = 0;
    finished_ = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
    return true;
}

bool SealedFileReader::next(std::string& record) {
    while (pos_ >= chunk_.size()) {
        if (finished_) {
            return false;
        }
        load_chunk();
    }
    if (chunk_.size() - pos_ < 4) {
        throw Error(ErrorCode::internal, "sealed file has a broken record: " + state_->path);
    }
    const auto* p = reinterpret_cast<const unsigned char*>(chunk_.data() + pos_);
    const std::uint32_t n =
        p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
    if (chunk_.size() - pos_ - 4 < n) {
        throw Error(ErrorCode::internal, "sealed file has a broken record: " + state_->path);
    }
    record.assign(chunk_.data() + pos_ + 4, n);
    pos_ += 4 + n;
    return true;
}

}  // namespace datafix
