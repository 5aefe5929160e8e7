// Encryption at rest: what the ledger and the image files rely on.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/crypto.hpp"
#include "core/error.hpp"

namespace datafix {
namespace {

std::string temp_dir() {
    std::string t = "/tmp/datafix-crypto-XXXXXX";
    return ::mkdtemp(t.data());
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

TEST(Seal, RoundTripsAndHidesThePlaintext) {
    Key k = Key::generate();
    const std::string secret = "canary-4f1d-applicant@example.com";
    std::string sealed = seal(k, secret);
    EXPECT_EQ(sealed.find(secret), std::string::npos);
    EXPECT_EQ(open_sealed(k, sealed), secret);
}

TEST(Seal, RefusesATamperedValueOrTheWrongKey) {
    Key k = Key::generate();
    std::string sealed = seal(k, "value");
    sealed.back() ^= 1;
    EXPECT_THROW(open_sealed(k, sealed), Error);
    EXPECT_THROW(open_sealed(Key::generate(), seal(k, "value")), Error);
    EXPECT_THROW(open_sealed(k, "short"), Error);
}

TEST(KeyFile, IsCreatedWithMode0600AndNeverOverwritten) {
    const std::string dir = temp_dir();
    const std::string path = dir + "/datafix.key";
    Key k = Key::create_file(path);
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(open_sealed(Key::load_file(path), seal(k, "x")), "x");
    try {
        Key::create_file(path);
        FAIL() << "an existing key file was overwritten";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::config);
    }
    std::filesystem::remove_all(dir);
}

TEST(KeyFile, RefusesAKeyFileOthersCanRead) {
    const std::string dir = temp_dir();
    const std::string path = dir + "/datafix.key";
    Key::create_file(path);
    ::chmod(path.c_str(), 0644);
    try {
        Key::load_file(path);
        FAIL() << "a world-readable key file was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::config);
        EXPECT_NE(e.hint().find("chmod 600"), std::string::npos);
    }
    std::filesystem::remove_all(dir);
}

TEST(SealedFile, StreamsManyRecordsAcrossChunksAndReadsThemBack) {
    const std::string dir = temp_dir();
    const std::string path = dir + "/images";
    Key k = Key::generate();
    {
        SealedFileWriter w(k, path);
        for (int i = 0; i < 20000; ++i) {
            w.write("row-" + std::to_string(i) + "-canary-private-value");
        }
        w.write("");
        w.finish();
        EXPECT_EQ(w.records(), 20001u);
    }
    EXPECT_EQ(slurp(path).find("canary-private-value"), std::string::npos);
    SealedFileReader r(k, path);
    std::string rec;
    int n = 0;
    while (r.next(rec)) {
        if (n < 20000) {
            ASSERT_EQ(rec, "row-" + std::to_string(n) + "-canary-private-value");
        } else {
            ASSERT_EQ(rec, "");
        }
        ++n;
    }
    EXPECT_EQ(n, 20001);
    std::filesystem::remove_all(dir);
}

TEST(SealedFile, DetectsTruncationAndTampering) {
    const std::string dir = temp_dir();
    const std::string path = dir + "/images";
    Key k = Key::generate();
    {
        SealedFileWriter w(k, path);
        for (int i = 0; i < 10000; ++i) {
            w.write("record " + std::to_string(i));
        }
        w.finish();
    }
    const std::string bytes = slurp(path);
    {
        std::ofstream(path, std::ios::binary | std::ios::trunc)
            << bytes.substr(0, bytes.size() / 2);
        SealedFileReader r(k, path);
        std::string rec;
        EXPECT_THROW(
            {
                while (r.next(rec)) {
                }
            },
            Error);
    }
    {
        std::string bad = bytes;
        bad[bad.size() - 10] ^= 0x40;
        std::ofstream(path, std::ios::binary | std::ios::trunc) << bad;
        SealedFileReader r(k, path);
        std::string rec;
        EXPECT_THROW(
            {
                while (r.next(rec)) {
                }
            },
            Error);
    }
    std::filesystem::remove_all(dir);
}

TEST(SealedFile, AnUnfinishedFileIsNotReadAsComplete) {
    const std::string dir = temp_dir();
    const std::string path = dir + "/images";
    Key k = Key::generate();
    {
        SealedFileWriter w(k, path);
        w.write("only record");
        // no finish(): a writer interrupted mid-capture
    }
    SealedFileReader r(k, path);
    std::string rec;
    EXPECT_THROW(r.next(rec), Error);
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace datafix
