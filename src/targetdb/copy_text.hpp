// PostgreSQL's COPY text format, the on-disk form of a row image: fields separated by tabs,
// NULL as \N, backslash escapes inside fields. Splitting on tabs is safe because a tab inside a
// value is always escaped.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace datafix::targetdb {

std::vector<std::string_view> split_copy_fields(std::string_view row);
// The value of one field; nullopt for \N.
std::optional<std::string> decode_copy_field(std::string_view field);
// "(id)=(42)" style text naming a row by its key columns, for messages.
std::string describe_key(const std::vector<std::string>& key_columns,
                         const std::vector<std::size_t>& key_positions, std::string_view row);
// The key fields of a row, still escaped, joined by tabs: a stable identity for comparisons.
std::string key_of(const std::vector<std::size_t>& key_positions, std::string_view row);

}  // namespace datafix::targetdb
