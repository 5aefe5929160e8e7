// `datafix check` as a user runs it: the built binary on the shipped examples and on a refused and
// an unparsable file, checking exit statuses (0, 3, 4) and what is printed.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "run_datafix.hpp"

namespace {

using datafix::cli::testing::CommandRun;
using datafix::cli::testing::run_datafix;

std::string example(const std::string& name) {
    return (std::filesystem::path(DATAFIX_SOURCE_DIR) / "examples" / name).string();
}

std::string write_temp(const std::string& name, const std::string& text) {
    std::filesystem::path path = std::filesystem::temp_directory_path() / name;
    std::ofstream(path, std::ios::binary) << text;
    return path.string();
}

TEST(CheckCommand, ExampleChangeAndVerifyAreAllowed) {
    CommandRun run =
        run_datafix("check " + example("change.sql") + " --verify " + example("verify.sql"));
    EXPECT_EQ(run.status, 0) << run.out;
    EXPECT_NE(run.out.find("change file"), std::string::npos);
    EXPECT_NE(run.out.find("verify file"), std::string::npos);
    EXPECT_NE(run.out.find("sha-256"), std::string::npos);
    EXPECT_NE(run.out.find("app_public.app_user"), std::string::npos);
    EXPECT_NE(run.out.find("SET email_address = $1"), std::string::npos);
    EXPECT_NE(run.out.find("all statements allowed"), std::string::npos);
    // Literal values never reach the terminal.
    EXPECT_EQ(run.out.find("maria.okafor@example.com"), std::string::npos) << run.out;
}

TEST(CheckCommand, RefusedFileExitsThreeWithReasonAndHint) {
    std::string path =
        write_temp("datafix_refused_change.sql",
                   "UPDATE app_public.app_user SET email_address = "
                   "'nobody@example.com' WHERE id = 1 OR true;\nSET ROLE postgres;\n");
    CommandRun run = run_datafix("check " + path);
    EXPECT_EQ(run.status, 3) << run.out;
    EXPECT_NE(run.out.find("REFUSED (constant_true_where)"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("REFUSED (set_role)"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("HINT: "), std::string::npos);
    EXPECT_NE(run.out.find(path + ":2:1"), std::string::npos) << run.out;
    EXPECT_EQ(run.out.find("nobody@example.com"), std::string::npos) << run.out;
    std::filesystem::remove(path);
}

TEST(CheckCommand, JsonOutput) {
    std::string path = write_temp("datafix_json_change.sql", "DELETE FROM app_public.intake;\n");
    CommandRun run = run_datafix("check " + path + " --output json 2>/dev/null");
    EXPECT_EQ(run.status, 3);
    nlohmann::json j = nlohmann::json::parse(run.out);
    EXPECT_EQ(j["all_allowed"], false);
    EXPECT_TRUE(j["verify"].is_null());
    EXPECT_EQ(j["change"]["statements"][0]["verdict"]["rule"], "missing_where");
    EXPECT_EQ(j["change"]["statements"][0]["tables_written"][0], "app_public.intake");
    std::filesystem::remove(path);
}

TEST(CheckCommand, RefusedVerifyFileExitsThree) {
    std::string path = write_temp("datafix_refused_verify.sql",
                                  "SELECT * FROM app_public.app_user WHERE id = 1 FOR UPDATE;\n");
    CommandRun run = run_datafix("check " + example("change.sql") + " --verify " + path);
    EXPECT_EQ(run.status, 3) << run.out;
    EXPECT_NE(run.out.find("locking_clause"), std::string::npos);
    std::filesystem::remove(path);
}

TEST(CheckCommand, SyntaxErrorExitsFourWithPosition) {
    std::string path = write_temp("datafix_syntax_error.sql",
                                  "DELETE FROM t WHERE id = 1;\nUPDATE t SET a = 1 WHER id = 2;\n");
    CommandRun run = run_datafix("check " + path);
    EXPECT_EQ(run.status, 4) << run.out;
    EXPECT_NE(run.out.find(path + ":2:20: syntax error"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("HINT:"), std::string::npos);
    std::filesystem::remove(path);
}

TEST(CheckCommand, ThousandsOfNestedNotsExitFourInsteadOfCrashing) {
    std::string nots;
    for (int i = 0; i < 20000; ++i) {
        nots += "NOT ";
    }
    std::string path = write_temp("datafix_nested_not.sql",
                                  "DELETE FROM app_public.app_user WHERE " + nots + "true;\n");
    CommandRun run = run_datafix("check " + path);
    EXPECT_EQ(run.status, 4) << run.out.substr(0, 400);
    EXPECT_NE(run.out.find(path + ":1:"), std::string::npos) << run.out.substr(0, 400);
    EXPECT_NE(run.out.find("nests more than 1000 levels deep"), std::string::npos)
        << run.out.substr(0, 400);
    EXPECT_NE(run.out.find("HINT:"), std::string::npos);
    std::filesystem::remove(path);
}

TEST(CheckCommand, FunctionOutsideTheAllowlistIsRefusedByName) {
    std::string path = write_temp(
        "datafix_refused_function.sql",
        "UPDATE app_public.app_user SET given_name = query_to_xml_and_xmlschema('select 1', "
        "true, false, '')::text WHERE id = 1;\n"
        "DELETE FROM app_public.app_user WHERE EXISTS (SELECT 1 FROM app_public.application);\n");
    CommandRun run = run_datafix("check " + path);
    EXPECT_EQ(run.status, 3) << run.out;
    EXPECT_NE(run.out.find("REFUSED (denied_function)"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("query_to_xml_and_xmlschema()"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("REFUSED (constant_true_where)"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("where        present, constant-true"), std::string::npos) << run.out;
    std::filesystem::remove(path);
}

TEST(CheckCommand, MissingAndEmptyFilesExitFour) {
    EXPECT_EQ(run_datafix("check /nonexistent/change.sql").status, 4);
    std::string empty = write_temp("datafix_empty_change.sql", "-- nothing yet\n");
    CommandRun run = run_datafix("check " + empty);
    EXPECT_EQ(run.status, 4);
    EXPECT_NE(run.out.find("no SQL statement"), std::string::npos) << run.out;
    std::filesystem::remove(empty);
}

TEST(CheckCommand, UsageErrorsExitTwo) {
    EXPECT_EQ(run_datafix("check").status, 2);
    EXPECT_EQ(run_datafix("check " + example("change.sql") + " --output xml").status, 2);
}

}  // namespace
