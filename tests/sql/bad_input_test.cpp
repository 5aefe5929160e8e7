// Input that is not a readable SQL file: each is refused as invalid_input (exit status 4) with a
// message naming the file, line and column, and without echoing literal values.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "sql/analysis.hpp"
#include "sql/internal/nesting.hpp"

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

std::string repeated(const std::string& unit, int times) {
    std::string out;
    for (int i = 0; i < times; ++i) {
        out += unit;
    }
    return out;
}

// Found by fuzzing: the scanner's cost grows with the square of a run of operator characters.
TEST(BadInput, ALongRunOfOperatorCharactersIsRefusedBeforeScanning) {
    expect_invalid("DELETE FROM t WHERE 'yes';\n" + std::string(40000, '+'),
                   "bad.sql:2:1:", "more than 256 operator characters in a row");
    // A separator line in a comment, and operators as people write them, are fine.
    Analysis a = analyze(
        "-- " + std::string(120, '-') + "\nUPDATE t SET a = a || '==>' WHERE id >= 1 AND b <> -1;",
        FileRole::change, "ok.sql");
    EXPECT_TRUE(a.all_allowed());
}

// Runs of up to 256 cost little one at a time, but 1 MiB of them took 2 s: beyond 63 characters
// (the longest operator) they are allowed up to 4,096 characters in all.
TEST(BadInput, ManyLongOperatorRunsAreRefusedOnceTheirSumPassesTheBudget) {
    std::string separator = "-- " + std::string(200, '=') + "\n";
    Analysis fine = analyze(repeated(separator, 20) + "UPDATE t SET a = 1 WHERE id = 1;",
                            FileRole::change, "ok.sql");
    EXPECT_TRUE(fine.all_allowed());
    // The 21st separator passes 4,096: the message names its line.
    expect_invalid(repeated(separator, 21) + "UPDATE t SET a = 1 WHERE id = 1;", "bad.sql:21:4:",
                   "more than 4096 characters in runs of over 63 operator characters");
    // Runs of 63 count only toward the budget of runs over 16 (below).
    Analysis short_runs =
        analyze(repeated("-- " + std::string(63, '=') + "\n", 200) + "DELETE FROM t WHERE id = 1;",
                FileRole::change, "ok.sql");
    EXPECT_TRUE(short_runs.all_allowed());
}

// 1 MiB of 63-character runs (each an operator PostgreSQL could have) took a second to scan:
// runs of more than 16 characters may fill 64 KiB, runs of 16 or fewer are never counted.
TEST(BadInput, RunsOfOverSixteenOperatorCharactersHaveABudget) {
    std::string separator = "-- " + std::string(60, '-') + "\n";
    // 1,092 separators of 60 characters fill 65,520 (the comment's own two dashes are a run of
    // their own: the space ends it).
    Analysis fine = analyze(repeated(separator, 1092) + "UPDATE t SET a = 1 WHERE id = 1;",
                            FileRole::change, "ok.sql");
    EXPECT_TRUE(fine.all_allowed());
    expect_invalid(repeated(separator, 1093) + "UPDATE t SET a = 1 WHERE id = 1;",
                   "bad.sql:1093:4:", "more than 65536 characters in runs of over 16 operator");
    Analysis short_runs = analyze(repeated("-- " + std::string(13, '=') + "\n", 20000) +
                                      "UPDATE t SET a = a || '==>' WHERE id >= 1 AND b <> -1;",
                                  FileRole::change, "ok.sql");
    EXPECT_TRUE(short_runs.all_allowed()) << "runs of 16 are never counted";
}

TEST(BadInput, ThousandsOfNestedNotsAreRefusedBeforeParsing) {
    Error e = error_for("DELETE FROM t\nWHERE " + repeated("NOT ", 5000) + "archived;");
    EXPECT_EQ(e.code(), ErrorCode::invalid_input);
    EXPECT_EQ(exit_status(e.code()), 4);
    // The position where the estimate passed the limit: the 1000th NOT on line 2.
    EXPECT_TRUE(e.message().starts_with("bad.sql:2:" + std::to_string(7 + 4 * 999) + ":"))
        << e.message();
    EXPECT_NE(e.message().find("nests more than 1000 levels"), std::string::npos) << e.message();
    EXPECT_FALSE(e.hint().empty());
}

TEST(BadInput, DeepInputsOfEveryShapeAreRefused) {
    int n = kMaxNesting + 1;
    std::vector<std::string> deep = {
        "DELETE FROM t WHERE " + repeated("(", n) + "x" + repeated(")", n) + ";",
        "DELETE FROM t WHERE " + repeated("NOT (", n) + "x" + repeated(")", n) + ";",
        "DELETE FROM t WHERE 1" + repeated(" + 1", n) + " = x;",
        "DELETE FROM t WHERE x" + repeated("::int", n) + " = 1;",
        "DELETE FROM t WHERE x" + repeated(" COLLATE \"C\"", n) + " = 'a';",
        "DELETE FROM t WHERE " + repeated("CASE WHEN ", n) + "x" + repeated(" THEN 1 END", n) + ";",
        "SELECT " + repeated("(SELECT ", n) + "1" + repeated(")", n) + ";",
        "SELECT ARRAY" + repeated("[", n) + "1" + repeated("]", n) + ";",
        "INSERT INTO t (a) SELECT 1" + repeated(" UNION ALL SELECT 1", n) + ";",
        "SELECT 1 FROM a" + repeated(" JOIN a USING (id)", n) + ";",
        "DELETE FROM t WHERE " + repeated("- ", n) + "1 = x;",
    };
    for (const std::string& text : deep) {
        SCOPED_TRACE(text.substr(0, 60));
        Error e = error_for(text);
        EXPECT_EQ(e.code(), ErrorCode::invalid_input);
        EXPECT_NE(e.message().find("nests more than"), std::string::npos) << e.message();
    }
}

TEST(BadInput, SubqueriesNestedTooDeepAreRefused) {
    int n = internal::kMaxSubqueryNesting;
    auto nested = [](int depth) {
        return "DELETE FROM t WHERE id IN " + repeated("(SELECT a FROM b WHERE c IN ", depth) +
               "(1)" + repeated(")", depth) + ";";
    };
    Analysis a = analyze(nested(n), FileRole::change, "deep.sql");
    EXPECT_TRUE(a.all_allowed()) << a.statements[0].verdict.reason;
    Error e = error_for(nested(n + 1));
    EXPECT_EQ(e.code(), ErrorCode::invalid_input);
    EXPECT_NE(e.message().find("nests more than " + std::to_string(n) + " subqueries"),
              std::string::npos)
        << e.message();
    // Parentheses around a subquery are not a subquery of their own; a FROM list of many
    // subqueries side by side is flat.
    std::string side_by_side = "SELECT 1 FROM " + repeated("(SELECT 1) s, ", 50) + "t;";
    EXPECT_EQ(analyze(side_by_side, FileRole::verify, "wide.sql").statements.size(), 1U);
    std::string wrapped = "SELECT " + repeated("(", 20) + "(SELECT 1)" + repeated(")", 20) + ";";
    EXPECT_EQ(analyze(wrapped, FileRole::verify, "wrapped.sql").statements.size(), 1U);
}

TEST(BadInput, NestingAtTheLimitIsAnalyzed) {
    int n = kMaxNesting - 2;  // the statement level itself is one, the `=` another
    Analysis a =
        analyze("DELETE FROM t WHERE " + repeated("(", n) + "id = 1" + repeated(")", n) + ";",
                FileRole::change, "deep.sql");
    ASSERT_EQ(a.statements.size(), 1U);
    EXPECT_TRUE(a.statements[0].verdict.allowed) << a.statements[0].verdict.reason;
}

TEST(BadInput, LongFlatListsAreNotNesting) {
    // OR and AND lists, IN lists and VALUES rows are flat in the tree: any length is fine.
    std::string ors = "DELETE FROM t WHERE id = 0" + repeated(" OR id = 7", 20000) + ";";
    std::string ands = "DELETE FROM t WHERE id = 0" + repeated(" AND a <> 7", 20000) + ";";
    std::string in = "DELETE FROM t WHERE id IN (0" + repeated(", 7", 50000) + ");";
    std::string values =
        "INSERT INTO t (a, b) VALUES (0, 'x')" + repeated(", (1, 'y')", 20000) + ";";
    std::string statements = repeated("UPDATE t SET a = 1 + 2 * 3 WHERE id = 5;\n", 10000);
    for (const std::string& text : {ors, ands, in, values, statements}) {
        Analysis a = analyze(text, FileRole::change, "long.sql");
        EXPECT_TRUE(a.all_allowed()) << a.statements[0].verdict.reason;
    }
}

TEST(BadInput, NestingResetsAfterEachStatement) {
    int n = kMaxNesting / 2;
    std::string one =
        "DELETE FROM t WHERE " + repeated("(", n) + "id = 1" + repeated(")", n) + ";\n";
    Analysis a = analyze(one + one + one, FileRole::change, "deep.sql");
    EXPECT_EQ(a.statements.size(), 3U);
}

TEST(BadInput, PositionsOnAOneMegabyteLine) {
    // Positions are counted in characters on very long lines without re-reading the line.
    std::string statement = "UPDATE t SET a = 'é' WHERE id = 1;";
    std::string text;
    while (text.size() + statement.size() + 10 < kMaxFileBytes) {
        text += statement;
    }
    std::size_t statements = text.size() / statement.size();
    text += "WHER";
    Error e = error_for(text);
    std::size_t characters = statements * (statement.size() - 1) + 1;  // é is two bytes
    EXPECT_TRUE(e.message().starts_with("bad.sql:1:" + std::to_string(characters) + ":"))
        << e.message().substr(0, 80);
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
