// Runs every case in tests/sql/cases/*.txt (format in cases/README.md) through sql::analyze. One
// gtest per case, named after its file and title, so a failure names the case to look at.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "sql/analysis.hpp"

namespace datafix::sql {
namespace {

struct Case {
    std::string file;
    std::string title;
    int line = 0;
    std::map<std::string, std::string> expect;
    std::string sql;
};

std::string trim(const std::string& s) {
    std::size_t first = s.find_first_not_of(" \t\r");
    if (first == std::string::npos) {
        return {};
    }
    return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

bool header_line(const std::string& line, std::string& key, std::string& value) {
    static const std::vector<std::string> keys = {"role",   "expect", "reason",    "kind",
                                                  "tables", "where",  "statements"};
    for (const std::string& k : keys) {
        if (line.starts_with(k + ":")) {
            key = k;
            value = trim(line.substr(k.size() + 1));
            return true;
        }
    }
    return false;
}

std::vector<Case> load_cases() {
    std::vector<Case> cases;
    std::filesystem::path dir = std::filesystem::path(DATAFIX_SOURCE_DIR) / "tests/sql/cases";
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().extension() == ".txt") {
            files.push_back(entry.path());
        }
    }
    std::sort(files.begin(), files.end());
    for (const auto& path : files) {
        std::ifstream in(path);
        std::string line;
        int number = 0;
        bool in_header = false;
        while (std::getline(in, line)) {
            ++number;
            if (line.starts_with("=== ")) {
                cases.push_back(Case{path.stem().string(), trim(line.substr(4)), number, {}, {}});
                in_header = true;
                continue;
            }
            if (cases.empty()) {
                continue;
            }
            std::string key;
            std::string value;
            if (in_header && header_line(line, key, value)) {
                cases.back().expect[key] = value;
                continue;
            }
            in_header = false;
            cases.back().sql += line + "\n";
        }
    }
    return cases;
}

const std::vector<Case>& all_cases() {
    static const std::vector<Case> cases = load_cases();
    return cases;
}

std::string joined(const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& item : items) {
        out += (out.empty() ? "" : ", ") + item;
    }
    return out;
}

std::string where_state(const Statement& s) {
    if (!s.has_where) {
        return "absent";
    }
    return s.where_constant_true ? "constant_true" : "present";
}

// Shown by gtest instead of the case's bytes.
void PrintTo(const Case& c, std::ostream* os) {
    *os << c.file << ".txt:" << c.line << " " << c.title;
}

class CaseFile : public ::testing::TestWithParam<Case> {};

TEST_P(CaseFile, MatchesExpectedVerdict) {
    const Case& c = GetParam();
    SCOPED_TRACE(c.file + ".txt:" + std::to_string(c.line) + " " + c.title);
    FileRole role = c.expect.count("role") && c.expect.at("role") == "verify" ? FileRole::verify
                                                                              : FileRole::change;
    Analysis analysis;
    try {
        analysis = analyze(c.sql, role, c.file + ".sql");
    } catch (const Error& e) {
        FAIL() << "analyze threw: " << e.describe();
    }
    ASSERT_FALSE(analysis.statements.empty());
    const Statement& first = analysis.statements.front();
    const std::string& expect = c.expect.at("expect");
    if (expect == "allowed") {
        for (const Statement& s : analysis.statements) {
            EXPECT_TRUE(s.verdict.allowed) << "statement " << s.index << " refused by "
                                           << s.verdict.rule << ": " << s.verdict.reason;
        }
    } else {
        ASSERT_TRUE(expect.starts_with("refused ")) << "bad expect line: " << expect;
        std::string rule = expect.substr(8);
        auto refused = std::find_if(
            analysis.statements.begin(), analysis.statements.end(),
            [&](const Statement& s) { return !s.verdict.allowed && s.verdict.rule == rule; });
        ASSERT_NE(refused, analysis.statements.end())
            << "no statement refused by " << rule << "; first verdict: "
            << (first.verdict.allowed ? "allowed"
                                      : first.verdict.rule + ": " + first.verdict.reason);
        EXPECT_FALSE(refused->verdict.hint.empty()) << "a refusal must carry a HINT";
        EXPECT_FALSE(refused->verdict.reason.empty());
        if (c.expect.count("reason")) {
            EXPECT_NE(refused->verdict.reason.find(c.expect.at("reason")), std::string::npos)
                << "reason was: " << refused->verdict.reason;
        }
    }
    if (c.expect.count("kind")) {
        EXPECT_EQ(kind_name(first.kind), c.expect.at("kind"));
    }
    if (c.expect.count("tables")) {
        EXPECT_EQ(joined(first.tables_written), c.expect.at("tables"));
    }
    if (c.expect.count("where")) {
        EXPECT_EQ(where_state(first), c.expect.at("where"));
    }
    if (c.expect.count("statements")) {
        EXPECT_EQ(std::to_string(analysis.statements.size()), c.expect.at("statements"));
    }
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
    std::string name = info.param.file + "_" + info.param.title;
    for (char& ch : name) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) {
            ch = '_';
        }
    }
    return name + "_" + std::to_string(info.index);
}

INSTANTIATE_TEST_SUITE_P(Cases, CaseFile, ::testing::ValuesIn(all_cases()), case_name);

TEST(CaseFiles, HoldAtLeastEightyCases) {
    EXPECT_GE(all_cases().size(), 80U);
}

TEST(CaseFiles, CoverEveryRule) {
    std::vector<std::string> rules = {"ddl",
                                      "truncate",
                                      "transaction_control",
                                      "set_role",
                                      "set_session_authorization",
                                      "session_setting",
                                      "copy",
                                      "do_block",
                                      "call",
                                      "maintenance",
                                      "lock",
                                      "listen_notify",
                                      "utility",
                                      "meta_command",
                                      "missing_where",
                                      "constant_true_where",
                                      "system_catalog",
                                      "denied_function",
                                      "select_in_change",
                                      "select_into",
                                      "data_modifying_cte",
                                      "not_select",
                                      "locking_clause"};
    for (const std::string& rule : rules) {
        bool covered = std::any_of(all_cases().begin(), all_cases().end(), [&](const Case& c) {
            return c.expect.at("expect") == "refused " + rule;
        });
        EXPECT_TRUE(covered) << "no case for rule " << rule;
    }
}

}  // namespace
}  // namespace datafix::sql
