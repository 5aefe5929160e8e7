// Input that is not a readable SQL file: each is refused as invalid_input (exit status 4) with a
// message naming the file, line and column, and without echoing literal values.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "sql/analysis.hpp"

namespace datafix::sql {
namespace {

// The error analyze throws for `text`; fails the test when it does not throw.
Error error_for(const std::string& text, FileRole role = FileRole::change) {
    try {
        analyze(text, role, "bad.sql");
    } catch (const Error& e) {
        return e;
    }
    ADD_FAILURE() << "no error for: " << text;
    return Error(ErrorCode::ok, "");
}

void expect_invalid(const std::string& text, const std::string& where, const std::string& what) {
    Error e = error_for(text);
    EXPECT_EQ(e.code(), ErrorCode::invalid_input);
    EXPECT_EQ(exit_status(e.code()), 4);
    EXPECT_TRUE(e.message().starts_with(where)) << e.message();
    EXPECT_NE(e.message().find(what), std::string::npos) << e.message();
    EXPECT_FALSE(e.hint().empty());
}

TEST(BadInput, EmptyFile) {
    expect_invalid("", "bad.sql:1:1:", "no SQL statement");
}

TEST(BadInput, OnlyWhitespaceAndComments) {
    expect_invalid("\n  -- nothing\n/* still nothing */\n", "bad.sql:1:1:", "no SQL statement");
}

TEST(BadInput, OnlySemicolons) {
    expect_invalid(";;\n;", "bad.sql:1:1:", "no SQL statement");
}

TEST(BadInput, NulByte) {
    expect_invalid(std::string("DELETE FROM t\n WHERE\0 id = 1;", 28), "bad.sql:2:7:", "NUL byte");
}

TEST(BadInput, InvalidUtf8) {
    expect_invalid("UPDATE t SET a = 'caf\xE9' WHERE id = 1;", "bad.sql:1:22:", "invalid UTF-8");
}

TEST(BadInput, OverlongUtf8) {
    expect_invalid("DELETE FROM t WHERE a = '\xC0\xAF';", "bad.sql:1:26:", "invalid UTF-8");
}

TEST(BadInput, Utf8Surrogate) {
    expect_invalid("DELETE FROM t WHERE a = '\xED\xA0\x80';", "bad.sql:1:26:", "invalid UTF-8");
}

TEST(BadInput, ByteOrderMark) {
    expect_invalid(
        "\xEF\xBB\xBF"
        "DELETE FROM t WHERE id = 1;",
        "bad.sql:1:1:", "byte-order mark");
}

TEST(BadInput, OverSizeLimit) {
    std::string big = "DELETE FROM t WHERE id = 1;\n";
    big += std::string(kMaxFileBytes, ' ');
    expect_invalid(big, "bad.sql:", "1 MiB");
}

TEST(BadInput, AtSizeLimitIsFine) {
    std::string text = "DELETE FROM t WHERE id = 1;";
    text += std::string(kMaxFileBytes - text.size(), '\n');
    EXPECT_EQ(analyze(text, FileRole::change, "ok.sql").statements.size(), 1U);
}

TEST(BadInput, SyntaxErrorNamesLineAndColumn) {
    expect_invalid("DELETE FROM t WHERE id = 1;\nUPDATE t SET a = 1 WHER id = 2;",
                   "bad.sql:2:20:", "syntax error at or near \"WHER\"");
}

TEST(BadInput, SyntaxErrorColumnCountsCharacters) {
    expect_invalid("UPDATE t SET a = 'ééé' WHER id = 2;", "bad.sql:1:24:", "syntax error");
}

TEST(BadInput, SyntaxErrorAtLiteralDoesNotEchoIt) {
    Error e = error_for("UPDATE t SET a = 'secret-one' 'secret-two' WHERE id = 1;");
    EXPECT_EQ(e.code(), ErrorCode::invalid_input);
    EXPECT_EQ(e.message().find("secret"), std::string::npos) << e.message();
    EXPECT_TRUE(e.message().starts_with("bad.sql:1:")) << e.message();
}

TEST(BadInput, UnterminatedStringDoesNotEchoIt) {
    Error e = error_for("DELETE FROM t WHERE id = 1;\nUPDATE t SET a = 'private value");
    EXPECT_EQ(e.code(), ErrorCode::invalid_input);
    EXPECT_TRUE(e.message().starts_with("bad.sql:2:18:")) << e.message();
    EXPECT_EQ(e.message().find("private"), std::string::npos) << e.message();
}

TEST(BadInput, SyntaxErrorAtEndOfInput) {
    expect_invalid("DELETE FROM", "bad.sql:1:12:", "syntax error at end of input");
}

TEST(BadInput, PsqlVariableIsASyntaxError) {
    Error e = error_for("DELETE FROM t WHERE id = :id;");
    EXPECT_EQ(e.code(), ErrorCode::invalid_input);
    EXPECT_NE(e.hint().find("psql variables"), std::string::npos);
}

TEST(BadInput, MissingFile) {
    try {
        analyze_file("/nonexistent/datafix/change.sql", FileRole::change);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::invalid_input);
        EXPECT_NE(e.message().find("/nonexistent/datafix/change.sql"), std::string::npos);
    }
}

TEST(BadInput, DirectoryIsUnreadable) {
    try {
        analyze_file(std::filesystem::temp_directory_path().string(), FileRole::change);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::invalid_input);
    }
}

TEST(BadInput, OversizedFileOnDisk) {
    std::filesystem::path path = std::filesystem::temp_directory_path() / "datafix_big_change.sql";
    {
        std::ofstream out(path, std::ios::binary);
        out << std::string(kMaxFileBytes + 10, '\n');
    }
    try {
        analyze_file(path.string(), FileRole::change);
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::invalid_input);
        EXPECT_NE(e.message().find("over the limit"), std::string::npos);
    }
    std::filesystem::remove(path);
}

TEST(BadInput, ReadsAFileFromDisk) {
    std::filesystem::path example =
        std::filesystem::path(DATAFIX_SOURCE_DIR) / "examples" / "change.sql";
    Analysis a = analyze_file(example.string(), FileRole::change);
    EXPECT_EQ(a.file, example.string());
    EXPECT_TRUE(a.all_allowed());
}

}  // namespace
}  // namespace datafix::sql
