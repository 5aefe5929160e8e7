// sql::analyze beyond verdicts: statement slices and positions, normalization, fingerprints,
// tables written, the file hash and the JSON form.
#include <gtest/gtest.h>
#include <pg_query.h>

#include <algorithm>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/hash.hpp"
#include "sql/analysis.hpp"
#include "sql/analysis_json.hpp"

namespace datafix::sql {
namespace {

Analysis change(const std::string& text) {
    return analyze(text, FileRole::change, "c.sql");
}

TEST(Analyze, SlicesExactStatementTextWithoutSemicolonOrComments) {
    Analysis a = change(
        "-- leading comment\n"
        "UPDATE app_public.app_user SET given_name = 'Ada' WHERE id = 1 -- trailing\n"
        ";\n"
        "  /* c */ DELETE FROM app_public.intake WHERE id = 2;");
    ASSERT_EQ(a.statements.size(), 2U);
    EXPECT_EQ(a.statements[0].text,
              "UPDATE app_public.app_user SET given_name = 'Ada' WHERE id = 1");
    EXPECT_EQ(a.statements[0].line, 2);
    EXPECT_EQ(a.statements[0].column, 1);
    EXPECT_EQ(a.statements[0].index, 1);
    EXPECT_EQ(a.statements[1].text, "DELETE FROM app_public.intake WHERE id = 2");
    EXPECT_EQ(a.statements[1].line, 4);
    EXPECT_EQ(a.statements[1].column, 11);
    EXPECT_EQ(a.statements[1].index, 2);
}

TEST(Analyze, ColumnsCountCharactersNotBytes) {
    Analysis a = change("UPDATE t SET n = 'é'; DELETE FROM t WHERE id = 1;");
    ASSERT_EQ(a.statements.size(), 2U);
    EXPECT_EQ(a.statements[1].column, 23);
}

TEST(Analyze, NormalizesLiteralsAndDropsComments) {
    Analysis a = change(
        "UPDATE app_public.app_user\n"
        "   SET email_address = 'private@example.com' /* was: old@example.com */\n"
        " WHERE id = 42;");
    const Statement& s = a.statements[0];
    EXPECT_EQ(s.normalized, "UPDATE app_public.app_user SET email_address = $1 WHERE id = $2");
    EXPECT_EQ(s.normalized.find("example.com"), std::string::npos);
    EXPECT_EQ(s.normalized.find("42"), std::string::npos);
}

TEST(Analyze, FingerprintIgnoresValuesAndLayoutButNotShape) {
    std::string a = change("UPDATE t SET a = 1 WHERE id = 2").statements[0].fingerprint;
    std::string b = change("update t\n  set a = 99   where id = 7;").statements[0].fingerprint;
    std::string c = change("UPDATE t SET a = 1 WHERE other = 2").statements[0].fingerprint;
    EXPECT_EQ(a.size(), 16U);
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
    // Stable across runs and releases of the same libpg_query: pinned.
    EXPECT_EQ(a, change("UPDATE t SET a = 1 WHERE id = 2").statements[0].fingerprint);
}

// What libpg_query gives for one statement on its own: the reference the guard's per-statement
// results are compared with.
std::string pg_query_normalized(const std::string& statement) {
    PgQueryNormalizeResult result = pg_query_normalize(statement.c_str());
    std::string out = result.error == nullptr ? result.normalized_query : "error";
    pg_query_free_normalize_result(result);
    return out;
}

std::string pg_query_fingerprinted(const std::string& statement) {
    PgQueryFingerprintResult result = pg_query_fingerprint(statement.c_str());
    std::string out = result.error == nullptr ? result.fingerprint_str : "error";
    pg_query_free_fingerprint_result(result);
    return out;
}

// The file is parsed once, but each statement's normalized text and fingerprint are what
// libpg_query gives for that statement alone: placeholders restart at $1 in every statement, a
// statement's own $n counts only there, and nothing elsewhere in the file (comments, a
// meta-command, the same literal in an earlier statement) changes them. Each statement is on one
// line with single spaces, so its normalized text is libpg_query's unchanged.
TEST(Analyze, EachStatementIsNormalizedAndFingerprintedAsIfAlone) {
    const std::string file =
        "-- a data change\n"
        "UPDATE app_public.app_user SET given_name = 'Ada', score = -5 WHERE id = 1;\n"
        "\\echo it's done\n"
        "DELETE FROM t WHERE id = $2 AND note = 'host=db.internal'; /* between */ "
        "INSERT INTO t (a, b) VALUES (1, $$dollar 'quoted'$$), (- 2.5, E'x\\ny');\n"
        "WITH gone AS (DELETE FROM t WHERE id IN (7, 8, 9) RETURNING id) SELECT count(*) FROM "
        "gone;\n"
        "SELECT lower(name), count(*) FROM t WHERE id > 10 GROUP BY lower(name), 1 ORDER BY 2 "
        "LIMIT 5;\n"
        "CREATE SUBSCRIPTION s CONNECTION 'host=db.internal' PUBLICATION p;\n"
        "ALTER ROLE app WITH PASSWORD 'secret' VALID UNTIL '2030-01-01';\n"
        "UPDATE t SET a = 1 + 2 * 3, b = NULL, c = TRUE WHERE id = 5";
    Analysis a = change(file);
    ASSERT_EQ(a.statements.size(), 9U);
    EXPECT_EQ(a.statements[1].kind, StatementKind::meta_command);
    for (const Statement& s : a.statements) {
        if (s.kind == StatementKind::meta_command) {
            continue;
        }
        ASSERT_EQ(s.text.find('\n'), std::string::npos) << s.text;
        EXPECT_EQ(s.normalized, pg_query_normalized(s.text)) << s.text;
        EXPECT_EQ(s.fingerprint, pg_query_fingerprinted(s.text)) << s.text;
        Analysis alone = change(s.text);
        ASSERT_EQ(alone.statements.size(), 1U);
        EXPECT_EQ(s.normalized, alone.statements[0].normalized) << s.text;
        EXPECT_EQ(s.fingerprint, alone.statements[0].fingerprint) << s.text;
    }
}

TEST(Analyze, FileHashIsOfExactBytes) {
    std::string text = "DELETE FROM t WHERE id = 1;\n";
    EXPECT_EQ(change(text).sha256, sha256_hex(text));
    EXPECT_NE(change(text).sha256, change(text + " ").sha256);
}

TEST(Analyze, TablesWrittenIncludeCtes) {
    Analysis a = change(
        "WITH moved AS (DELETE FROM app_public.application_status WHERE id = 3 RETURNING *),"
        " touched AS (UPDATE app_public.application SET updated_at = now() WHERE id = 4"
        " RETURNING id)"
        " INSERT INTO archive.application_status SELECT * FROM moved;");
    const Statement& s = a.statements[0];
    ASSERT_EQ(s.tables_written.size(), 3U);
    EXPECT_EQ(s.tables_written[0], "archive.application_status");
    EXPECT_EQ(s.tables_written[1], "app_public.application_status");
    EXPECT_EQ(s.tables_written[2], "app_public.application");
    EXPECT_EQ(s.tables_read, std::vector<std::string>{"moved"}) << "a CTE's name, for the catalog";
}

TEST(Analyze, TablesReadAreEveryRelationButTheTargets) {
    Analysis a = change(
        "UPDATE app_public.application a SET intake_id = i.id FROM app_public.intake i "
        "WHERE i.intake_number = 2 AND a.owner IN (SELECT id FROM app_public.app_user u "
        "WHERE u.archived_at IS NULL) AND a.id = 7;");
    // In the parse tree's order (the WHERE's subquery before FROM); pre-flight resolves each.
    EXPECT_EQ(a.statements[0].tables_read,
              (std::vector<std::string>{"app_public.app_user", "app_public.intake"}));
}

TEST(Analyze, WhereFlags) {
    Statement keyed = change("DELETE FROM t WHERE id = 1").statements[0];
    EXPECT_TRUE(keyed.has_where);
    EXPECT_FALSE(keyed.where_constant_true);
    Statement widened = change("DELETE FROM t WHERE id = 1 OR 1 = 1").statements[0];
    EXPECT_TRUE(widened.has_where);
    EXPECT_TRUE(widened.where_constant_true);
    Statement none = change("DELETE FROM t").statements[0];
    EXPECT_FALSE(none.has_where);
}

TEST(Analyze, MetaCommandPositionAndNormalizedName) {
    Analysis a = change("DELETE FROM t WHERE id = 1;\n  \\set secret 'hunter2'\n");
    ASSERT_EQ(a.statements.size(), 2U);
    const Statement& meta = a.statements[1];
    EXPECT_EQ(meta.kind, StatementKind::meta_command);
    EXPECT_EQ(meta.line, 2);
    EXPECT_EQ(meta.column, 3);
    EXPECT_EQ(meta.normalized, "\\set");
    EXPECT_NE(meta.verdict.reason.find("c.sql:2:3"), std::string::npos);
    EXPECT_FALSE(a.all_allowed());
}

TEST(Analyze, AllAllowed) {
    EXPECT_TRUE(change("DELETE FROM t WHERE id = 1;").all_allowed());
    EXPECT_FALSE(change("DELETE FROM t WHERE id = 1; DELETE FROM t;").all_allowed());
}

TEST(AnalysisJson, CarriesNormalizedTextAndHashesButNotTheText) {
    Analysis a = change("UPDATE t SET email = 'private@example.com' WHERE id = 1; DELETE FROM t;");
    nlohmann::json j = to_json(a);
    EXPECT_EQ(j["file"], "c.sql");
    EXPECT_EQ(j["role"], "change");
    EXPECT_EQ(j["sha256"], a.sha256);
    EXPECT_EQ(j["all_allowed"], false);
    ASSERT_EQ(j["statements"].size(), 2U);
    EXPECT_EQ(j["statements"][0]["kind"], "update");
    EXPECT_EQ(j["statements"][0]["normalized"], "UPDATE t SET email = $1 WHERE id = $2");
    EXPECT_EQ(j["statements"][0]["text_sha256"], sha256_hex(a.statements[0].text));
    EXPECT_EQ(j["statements"][0]["verdict"]["allowed"], true);
    EXPECT_EQ(j["statements"][1]["verdict"]["rule"], "missing_where");
    EXPECT_EQ(j.dump().find("private@example.com"), std::string::npos);
}

TEST(Names, KindsAndRoles) {
    EXPECT_EQ(kind_name(StatementKind::delete_), "delete");
    EXPECT_EQ(kind_name(StatementKind::do_block), "do");
    EXPECT_EQ(role_name(FileRole::verify), "verify");
}

TEST(Analyze, StatementListsEveryCallOnceWithItsArgumentCount) {
    auto a = analyze(
        "UPDATE app_public.app_user SET given_name = app_public.normalize_name(given_name), "
        "family_name = app_public.normalize_name(family_name), updated_at = now() "
        "WHERE id = 5 AND (SELECT count(*) FROM app_public.intake) > 0;",
        FileRole::change, "change.sql");
    ASSERT_EQ(a.statements.size(), 1u);
    EXPECT_EQ(a.statements[0].calls,
              (std::vector<FunctionCall>{
                  {"app_public", "normalize_name", 1}, {"", "now", 0}, {"", "count", 0}}));
    EXPECT_EQ(call_text(a.statements[0].calls[0]), "app_public.normalize_name(1 argument)");
}

// A file of 64 KiB or more is parsed in pieces cut at semicolons, by several threads. What each
// statement gets must not depend on it: the same text, position, kind, verdict, tables, normalized
// text and fingerprint as when the statement is the whole file.
TEST(Analyze, ALargeFileReadInPiecesAgreesWithEachStatementAlone) {
    const std::vector<std::string> shapes = {
        "UPDATE app_public.app_user SET given_name = 'Ada', score = -{n} WHERE id = {n};\n",
        "-- why: a request\nDELETE FROM t WHERE id = {n} AND note = 'x'; /* c */ ",
        "INSERT INTO t (a, b) VALUES ({n}, $$dollar 'quoted'$$), (- 2.5, E'x\\ny');\n",
        "\\echo done {n}\n",
        "WITH gone AS (DELETE FROM t WHERE id IN ({n}, 8) RETURNING id) SELECT count(*) FROM "
        "gone;\n",
        "CREATE TABLE t{n} (a int);\n",
        "UPDATE t SET a = 1 + 2 * 3\n  WHERE id = {n};\n"};
    std::string file;
    for (int n = 0; file.size() < 200 * 1024; ++n) {
        std::string shape = shapes[static_cast<std::size_t>(n) % shapes.size()];
        std::size_t at = 0;
        while ((at = shape.find("{n}", at)) != std::string::npos) {
            shape.replace(at, 3, std::to_string(n));
        }
        file += shape;
    }
    Analysis a = change(file);
    ASSERT_GT(a.statements.size(), 2000U);
    int line = 0;
    for (std::size_t i = 0; i < a.statements.size(); ++i) {
        const Statement& s = a.statements[i];
        ASSERT_EQ(s.index, static_cast<int>(i) + 1);
        ASSERT_GE(s.line, line) << "statements out of file order at " << s.index;
        line = s.line;
        if (s.kind == StatementKind::meta_command) {
            continue;
        }
        Analysis alone = change(s.text);
        ASSERT_EQ(alone.statements.size(), 1U) << s.text;
        const Statement& own = alone.statements[0];
        ASSERT_EQ(s.kind, own.kind) << s.text;
        ASSERT_EQ(s.normalized, own.normalized) << s.text;
        ASSERT_EQ(s.fingerprint, own.fingerprint) << s.text;
        ASSERT_EQ(s.verdict.allowed, own.verdict.allowed) << s.text;
        ASSERT_EQ(s.tables_written, own.tables_written) << s.text;
        ASSERT_EQ(s.has_where, own.has_where) << s.text;
    }
    // Statement i's line is where its text starts in the file.
    const Statement& last = a.statements.back();
    std::size_t offset = file.rfind(last.text);
    ASSERT_NE(offset, std::string::npos);
    EXPECT_EQ(last.line,
              1 + std::count(file.begin(), file.begin() + static_cast<long>(offset), '\n'));
}

// A semicolon inside a statement (a rule's list of actions) is not where a statement ends: the
// statement spanning the middle of a large file is still one statement, refused as DDL.
TEST(Analyze, ASemicolonInsideAStatementOfALargeFileDoesNotCutIt) {
    std::string before;
    while (before.size() < 60 * 1024) {
        before += "DELETE FROM t WHERE id = 1;\n";
    }
    std::string rule = "CREATE RULE r AS ON INSERT TO t DO ALSO (";
    while (rule.size() < 60 * 1024) {
        rule += "INSERT INTO audit VALUES (1); ";
    }
    rule += "INSERT INTO audit VALUES (2))";
    Analysis a = change(before + rule + ";\n" + before);
    std::size_t each = before.size() / std::string("DELETE FROM t WHERE id = 1;\n").size();
    ASSERT_EQ(a.statements.size(), 2 * each + 1);
    const Statement& middle = a.statements[each];
    EXPECT_EQ(middle.text, rule);
    EXPECT_EQ(middle.kind, StatementKind::ddl);
    EXPECT_FALSE(middle.verdict.allowed);
    EXPECT_EQ(middle.line, static_cast<int>(each) + 1);
    EXPECT_EQ(a.statements.back().text, "DELETE FROM t WHERE id = 1");
}

// A syntax error in the last quarter of a large file is reported where it is, and only it.
TEST(Analyze, ASyntaxErrorDeepInALargeFileNamesItsLine) {
    std::string file;
    int lines = 0;
    while (file.size() < 150 * 1024) {
        file += "UPDATE t SET a = 1 WHERE id = 2;\n";
        ++lines;
    }
    file += "UPDATE t SET a = 1 WHER id = 3;\n";
    file += "DELETE FROM t WHERE id = 4;\n";
    try {
        change(file);
        FAIL() << "a file with a syntax error was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::invalid_input);
        std::string where = "c.sql:" + std::to_string(lines + 1) + ":20: ";
        EXPECT_EQ(std::string(e.what()).rfind(where, 0), 0U) << e.what();
        EXPECT_NE(std::string(e.what()).find("syntax error at or near \"WHER\""), std::string::npos)
            << e.what();
    }
}

}  // namespace
}  // namespace datafix::sql
