// Sealed image files: unique names per store, digests computed while writing.
#include "targetdb/image_store.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "core/error.hpp"
#include "targetdb/copy_text.hpp"

namespace datafix::targetdb {

ImageStore::ImageStore(const Key& key, std::string directory)
    : key_(key), directory_(std::move(directory)) {
    std::error_code ec;
    std::filesystem::create_directories(directory_, ec);
    if (ec) {
        throw Error(ErrorCode::config, "cannot create the image directory " + directory_,
                    "check the server's data directory and its permissions");
    }
    ::chmod(directory_.c_str(), 0700);
}

std::string ImageStore::new_path(std::string_view label) {
    auto now = std::chrono::system_clock::now().time_since_epoch();
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now).count();
    auto path = directory_ + "/" + std::to_string(micros) + "-" + std::to_string(::getpid()) + "-" +
                std::to_string(++counter_) + "-" + std::string(label) + ".img";
    if (open_scopes_ > 0) {
        open_scope_paths_.push_back(path);
    }
    return path;
}

std::optional<std::string> ImageStore::streamed_masked_digest(const std::string& path,
                                                              const std::string& signature) const {
    std::lock_guard lock(masked_mutex_);
    auto it = masked_.find(path);
    if (it == masked_.end() || it->second.first != signature) {
        return std::nullopt;
    }
    return it->second.second;
}

void ImageStore::remember_masked_digest(const std::string& path, std::string signature,
                                        std::string digest) {
    constexpr std::size_t kRemembered = 1024;
    std::lock_guard lock(masked_mutex_);
    if (masked_.size() >= kRemembered) {
        masked_.clear();  // an image whose digest was forgotten is read again
    }
    masked_[path] = {std::move(signature), std::move(digest)};
}

ImageScope::ImageScope(ImageStore& store) : store_(store), start_(store.open_scope_paths_.size()) {
    ++store_.open_scopes_;
}

ImageScope::~ImageScope() {
    auto& paths = store_.open_scope_paths_;
    if (!keep_) {
        for (std::size_t i = start_; i < paths.size(); ++i) {
            std::error_code ec;
            std::filesystem::remove(paths[i], ec);
        }
    }
    // What an inner scope kept stays listed, so an outer scope that fails still removes it.
    if (!keep_) {
        paths.resize(start_);
    }
    if (--store_.open_scopes_ == 0) {
        paths.clear();
    }
}

ImageWriter::ImageWriter(ImageStore& store, std::string_view label,
                         std::vector<std::size_t> key_positions, bool durable)
    : store_(store),
      path_(store.new_path(label)),
      writer_(store.key(), path_, durable),
      key_positions_(std::move(key_positions)) {}

void ImageWriter::mask(const std::vector<std::string>& columns,
                       const std::vector<std::string>& key_columns,
                       const std::vector<VolatileColumn>& volatility) {
    if (volatility.empty()) {
        return;  // the masked digest is the image's own digest
    }
    masked_ = std::make_unique<MaskedDigest>(columns, key_columns, volatility);
    masked_signature_ = MaskedDigest::signature(columns, key_columns, volatility);
}

void ImageWriter::add(std::string_view row) {
    writer_.write(row);
    if (masked_) {
        masked_->add(row);
    }
    digest_.update_field(row);
    if (!key_positions_.empty()) {
        keys_.update_field(key_of(key_positions_, row));
    }
    ++rows_;
}

ImageFile ImageWriter::finish() {
    writer_.finish();
    if (masked_) {
        store_.remember_masked_digest(path_, std::move(masked_signature_), masked_->hex_digest());
        masked_.reset();
    }
    return ImageFile{path_, rows_, digest_.hex_digest(), keys_.hex_digest()};
}

ImageReader::ImageReader(const ImageStore& store, const ImageFile& file)
    : reader_(store.key(), file.path) {}

}  // namespace datafix::targetdb
