// Where row images go: sealed (encrypted) record files in one directory, one record per row in
// PostgreSQL's COPY text format. Rows stream through; nothing holds a whole image in memory.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto.hpp"
#include "core/hash.hpp"
#include "targetdb/evidence.hpp"
#include "targetdb/masked_digest.hpp"

namespace datafix::targetdb {

class ImageStore {
  public:
    // `directory` is created (mode 0700) when missing.
    ImageStore(const Key& key, std::string directory);

    // A fresh path for a new image file; `label` says what it holds ("s1-before").
    std::string new_path(std::string_view label);
    const Key& key() const { return key_; }
    const std::string& directory() const { return directory_; }

    // The masked digest an ImageWriter streamed while writing `path`, when it was streamed for
    // `signature` (MaskedDigest::signature); otherwise the image must be read again.
    std::optional<std::string> streamed_masked_digest(const std::string& path,
                                                      const std::string& signature) const;

  private:
    friend class ImageScope;
    friend class ImageWriter;
    void remember_masked_digest(const std::string& path, std::string signature, std::string digest);
    Key key_;
    std::string directory_;
    unsigned long counter_ = 0;
    std::vector<std::string> open_scope_paths_;  // files created inside the open ImageScopes
    int open_scopes_ = 0;
    // Streamed masked digests by path: a few per run, forgotten in bulk past a bound. Writers
    // may finish on another thread (the closure capture's observer), hence the mutex.
    mutable std::mutex masked_mutex_;
    std::map<std::string, std::pair<std::string, std::string>> masked_;
};

// A run's image files: removed when the scope ends without keep() (the run failed), so a refused
// or failed run leaves no sealed files behind. Scopes nest; memory is one path per file of the
// open run only.
class ImageScope {
  public:
    explicit ImageScope(ImageStore& store);
    ~ImageScope();
    ImageScope(const ImageScope&) = delete;
    ImageScope& operator=(const ImageScope&) = delete;
    void keep() { keep_ = true; }

  private:
    ImageStore& store_;
    std::size_t start_;
    bool keep_ = false;
};

// Writes one image file and digests it on the way.
class ImageWriter {
  public:
    // With `key_positions`, the key fields are digested too (ImageFile::keys_digest). A writer
    // that is not `durable` skips the fsync: for scratch files read back and removed within the
    // operation (the closure capture's candidates), never for evidence.
    ImageWriter(ImageStore& store, std::string_view label,
                std::vector<std::size_t> key_positions = {}, bool durable = true);
    // Also digest the rows with `volatility` masked as they are written (MaskedDigest), so the
    // evidence's masked digest needs no second reading of the image. Call before the first add.
    void mask(const std::vector<std::string>& columns, const std::vector<std::string>& key_columns,
              const std::vector<VolatileColumn>& volatility);
    void add(std::string_view row);
    ImageFile finish();

  private:
    ImageStore& store_;
    std::string path_;
    SealedFileWriter writer_;
    Sha256 digest_;
    Sha256 keys_;
    std::vector<std::size_t> key_positions_;
    long long rows_ = 0;
    std::unique_ptr<MaskedDigest> masked_;
    std::string masked_signature_;
};

// Reads an image file back, row by row.
class ImageReader {
  public:
    ImageReader(const ImageStore& store, const ImageFile& file);
    bool next(std::string& row) { return reader_.next(row); }

  private:
    SealedFileReader reader_;
};

}  // namespace datafix::targetdb
