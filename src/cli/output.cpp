// Colours, tables and small formatting helpers for human output.
#include "cli/output.hpp"

#include <unistd.h>

#include <algorithm>
#include <iostream>

namespace datafix::cli {

namespace {

// Display width of UTF-8 text: code points, which is right for the names and values shown here.
std::size_t width(const std::string& s) {
    return static_cast<std::size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

}  // namespace

Style::Style(const ClientFlags& flags) : color_(flags.color || ::isatty(STDOUT_FILENO) == 1) {}

std::string Style::wrap(const char* code, const std::string& s) const {
    if (!color_) {
        return s;
    }
    return std::string("\033[") + code + "m" + s + "\033[0m";
}

void Table::print(std::ostream& out, const Style& style, const std::string& indent) const {
    std::vector<std::size_t> widths(headers_.size(), 0);
    for (std::size_t i = 0; i < headers_.size(); ++i) {
        widths[i] = width(headers_[i]);
    }
    for (const auto& row : rows_) {
        for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
            widths[i] = std::max(widths[i], width(row[i]));
        }
    }
    auto line = [&](const std::vector<std::string>& cells, bool header) {
        std::string text = indent;
        for (std::size_t i = 0; i < cells.size() && i < widths.size(); ++i) {
            std::string cell = cells[i];
            if (i + 1 < cells.size()) {
                cell += std::string(widths[i] - width(cells[i]) + 2, ' ');
            }
            text += cell;
        }
        out << (header ? style.bold(text) : text) << "\n";
    };
    line(headers_, true);
    for (const auto& row : rows_) {
        line(row, false);
    }
}

void print_json(const nlohmann::json& j) {
    std::cout << j.dump(2) << "\n";
}

std::string short_hash(const std::string& hash) {
    return hash.size() > 12 ? hash.substr(0, 12) : hash;
}

std::string person_text(const nlohmann::json& ref) {
    if (!ref.is_object()) {
        return "-";
    }
    std::string name = ref.value("name", "user " + std::to_string(ref.value("id", 0)));
    std::string email = ref.value("email", "");
    return email.empty() ? name : name + " <" + email + ">";
}

std::string text(const nlohmann::json& j) {
    if (j.is_null()) {
        return "-";
    }
    if (j.is_string()) {
        return j.get<std::string>();
    }
    return j.dump();
}

}  // namespace datafix::cli
