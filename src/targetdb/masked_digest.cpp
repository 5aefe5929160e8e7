// The masked digest of an after-image (see masked_digest.hpp).
#include "targetdb/masked_digest.hpp"

#include <algorithm>

#include "targetdb/copy_text.hpp"
#include "targetdb/evidence_json.hpp"

namespace datafix::targetdb {

namespace {

std::string_view volatility_token(VolatilityClass c) {
    switch (c) {
        case VolatilityClass::clock:
            return "\x01clock";
        case VolatilityClass::sequence:
            return "\x01sequence";
        case VolatilityClass::random:
            return "\x01random";
        case VolatilityClass::observed:
            return "\x01observed";
    }
    return "\x01observed";
}

void feed_masked(Sha256& digest, std::string_view row,
                 const std::vector<const VolatileColumn*>& mask) {
    std::size_t i = 0;
    std::size_t start = 0;
    for (;;) {
        auto tab = row.find('\t', start);
        auto field =
            row.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start);
        if (i < mask.size() && mask[i] != nullptr) {
            digest.update_field(field == "\\N" ? std::string_view("\x01null")
                                               : volatility_token(mask[i]->volatility));
        } else {
            digest.update_field(field);
        }
        if (tab == std::string_view::npos) {
            break;
        }
        start = tab + 1;
        ++i;
    }
    digest.update_field("\n");
}

}  // namespace

bool key_is_volatile(const std::vector<std::string>& key_columns,
                     const std::vector<VolatileColumn>& volatility) {
    return std::any_of(volatility.begin(), volatility.end(), [&](const VolatileColumn& v) {
        return std::find(key_columns.begin(), key_columns.end(), v.column) != key_columns.end();
    });
}

MaskedDigest::MaskedDigest(const std::vector<std::string>& columns,
                           const std::vector<std::string>& key_columns,
                           const std::vector<VolatileColumn>& volatility)
    : mask_(columns.size(), nullptr),
      volatility_(volatility),
      sorted_(key_is_volatile(key_columns, volatility)) {
    // Per column the volatility entry that masks it (the last one naming it).
    for (const auto& v : volatility_) {
        auto it = std::find(columns.begin(), columns.end(), v.column);
        if (it != columns.end()) {
            mask_[static_cast<std::size_t>(it - columns.begin())] = &v;
        }
    }
    digest_.update_field("masked");
}

void MaskedDigest::add(std::string_view row) {
    if (!sorted_) {
        feed_masked(digest_, row, mask_);
        return;
    }
    Sha256 one;
    feed_masked(one, row, mask_);
    rows_.push_back(one.hex_digest());
}

std::string MaskedDigest::hex_digest() {
    if (sorted_) {
        std::sort(rows_.begin(), rows_.end());
        digest_.update_field("sorted");
        for (const auto& r : rows_) {
            digest_.update_field(r);
        }
        rows_.clear();
    }
    return digest_.hex_digest();
}

std::string MaskedDigest::signature(const std::vector<std::string>& columns,
                                    const std::vector<std::string>& key_columns,
                                    const std::vector<VolatileColumn>& volatility) {
    std::string out;
    auto add = [&](std::string_view part) {
        out += std::to_string(part.size());
        out.push_back(':');
        out.append(part);
    };
    for (const auto& c : columns) {
        add(c);
    }
    out.push_back('|');
    for (const auto& c : key_columns) {
        add(c);
    }
    out.push_back('|');
    for (const auto& v : volatility) {
        add(v.column);
        add(volatility_class_name(v.volatility));
    }
    return out;
}

}  // namespace datafix::targetdb
