// Human output: colours (only on a terminal or with --color), aligned tables, short hashes.
// Scripts use --output json instead, which prints the server's JSON as it came.
#pragma once

#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/client.hpp"

namespace datafix::cli {

class Style {
  public:
    explicit Style(const ClientFlags& flags);
    explicit Style(bool color) : color_(color) {}
    std::string red(const std::string& s) const { return wrap("31", s); }
    std::string green(const std::string& s) const { return wrap("32", s); }
    std::string yellow(const std::string& s) const { return wrap("33", s); }
    std::string bold(const std::string& s) const { return wrap("1", s); }
    std::string dim(const std::string& s) const { return wrap("2", s); }

  private:
    std::string wrap(const char* code, const std::string& s) const;
    bool color_ = false;
};

class Table {
  public:
    explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
    void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
    void print(std::ostream& out, const Style& style, const std::string& indent = "") const;
    bool empty() const { return rows_.empty(); }

  private:
    std::vector<std::string> headers_;
    std::vector<std::vector<std::string>> rows_;
};

void print_json(const nlohmann::json& j);
std::string short_hash(const std::string& hash);
// "Name <email>" of a person reference, or "-".
std::string person_text(const nlohmann::json& ref);
std::string text(const nlohmann::json& j);  // a JSON value as plain text ("-" for null)

}  // namespace datafix::cli
