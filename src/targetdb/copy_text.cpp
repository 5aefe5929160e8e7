// Decoding of COPY text fields, following PostgreSQL's CopyReadAttributesText escapes.
#include "targetdb/copy_text.hpp"

namespace datafix::targetdb {

std::vector<std::string_view> split_copy_fields(std::string_view row) {
    std::vector<std::string_view> fields;
    std::size_t start = 0;
    for (;;) {
        auto tab = row.find('\t', start);
        if (tab == std::string_view::npos) {
            fields.push_back(row.substr(start));
            return fields;
        }
        fields.push_back(row.substr(start, tab - start));
        start = tab + 1;
    }
}

std::optional<std::string> decode_copy_field(std::string_view field) {
    if (field == "\\N") {
        return std::nullopt;
    }
    std::string out;
    out.reserve(field.size());
    for (std::size_t i = 0; i < field.size(); ++i) {
        char c = field[i];
        if (c != '\\' || i + 1 == field.size()) {
            out.push_back(c);
            continue;
        }
        char e = field[++i];
        switch (e) {
            case 'b':
                out.push_back('\b');
                break;
            case 'f':
                out.push_back('\f');
                break;
            case 'n':
                out.push_back('\n');
                break;
            case 'r':
                out.push_back('\r');
                break;
            case 't':
                out.push_back('\t');
                break;
            case 'v':
                out.push_back('\v');
                break;
            default:
                out.push_back(e);  // \\ and any other escaped character stand for themselves
                break;
        }
    }
    return out;
}

std::string describe_key(const std::vector<std::string>& key_columns,
                         const std::vector<std::size_t>& key_positions, std::string_view row) {
    auto fields = split_copy_fields(row);
    std::string names;
    std::string values;
    for (std::size_t i = 0; i < key_positions.size(); ++i) {
        if (i > 0) {
            names += ", ";
            values += ", ";
        }
        names += key_columns.at(i);
        auto pos = key_positions[i];
        auto value = pos < fields.size() ? decode_copy_field(fields[pos]) : std::nullopt;
        values += value.value_or("NULL");
    }
    return "(" + names + ")=(" + values + ")";
}

std::string key_of(const std::vector<std::size_t>& key_positions, std::string_view row) {
    auto fields = split_copy_fields(row);
    std::string key;
    for (std::size_t i = 0; i < key_positions.size(); ++i) {
        if (i > 0) {
            key.push_back('\t');
        }
        auto pos = key_positions[i];
        if (pos < fields.size()) {
            key.append(fields[pos]);
        }
    }
    return key;
}

}  // namespace datafix::targetdb
