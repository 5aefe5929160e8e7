// Trigger function bodies read with PostgreSQL's PL/pgSQL and SQL parsers.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "sql/function_body.hpp"

namespace datafix::sql {
namespace {

TEST(FunctionBody, AuditTriggerNamesTheTableItFills) {
    auto f = inspect_plpgsql_body(
        "BEGIN\n"
        "  -- UPDATE app_public.not_this_one (a comment, not a statement)\n"
        "  INSERT INTO app_public.record_version (op, table_name, record)\n"
        "  VALUES (TG_OP, TG_TABLE_NAME, to_jsonb(NEW));\n"
        "  RAISE NOTICE 'audited %', TG_OP;\n"
        "  RETURN NULL;\n"
        "END");
    EXPECT_EQ(f.writes, std::vector<std::string>{"app_public.record_version"});
    EXPECT_FALSE(f.may_raise);
    EXPECT_TRUE(f.returns_null);
    EXPECT_FALSE(f.dynamic_sql);
}

TEST(FunctionBody, RefusalTriggerMayRaise) {
    auto f = inspect_plpgsql_body(
        "BEGIN IF OLD.archived_at IS NOT NULL THEN RAISE EXCEPTION 'row % is archived', OLD.id "
        "USING ERRCODE = 'check_violation'; END IF; RETURN NEW; END");
    EXPECT_TRUE(f.writes.empty());
    EXPECT_TRUE(f.may_raise);
    EXPECT_FALSE(f.returns_null);
}

TEST(FunctionBody, NestedBlocksLoopsAndEveryDmlKind) {
    auto f = inspect_plpgsql_body(
        "DECLARE r record; BEGIN\n"
        "  FOR r IN SELECT id FROM app_public.intake LOOP\n"
        "    UPDATE app_public.application SET intake_id = r.id WHERE intake_id IS NULL;\n"
        "  END LOOP;\n"
        "  BEGIN DELETE FROM staging.rows WHERE done; EXCEPTION WHEN others THEN RAISE; END;\n"
        "  INSERT INTO app_public.application_status (application_id, status) VALUES (1, 'x');\n"
        "  ASSERT r IS NOT NULL;\n"
        "  RETURN NEW;\n"
        "END");
    EXPECT_EQ(f.writes, (std::vector<std::string>{"app_public.application", "staging.rows",
                                                  "app_public.application_status"}));
    EXPECT_TRUE(f.may_raise);
}

TEST(FunctionBody, DynamicSqlIsReportedNotGuessed) {
    auto f = inspect_plpgsql_body(
        "BEGIN EXECUTE format('INSERT INTO %I VALUES (1)', TG_ARGV[0]); RETURN NEW; END");
    EXPECT_TRUE(f.dynamic_sql);
    EXPECT_TRUE(f.writes.empty());
}

TEST(FunctionBody, ReturnOfAParenthesisedNullCounts) {
    EXPECT_TRUE(inspect_plpgsql_body("BEGIN RETURN (NULL); END").returns_null);
    EXPECT_FALSE(inspect_plpgsql_body("BEGIN RETURN NEW; END").returns_null);
}

TEST(FunctionBody, SqlLanguageBodies) {
    auto f = inspect_sql_body("INSERT INTO audit.log (what) VALUES ('x'); SELECT 1;");
    EXPECT_EQ(f.writes, std::vector<std::string>{"audit.log"});
}

TEST(FunctionBody, ABodyThatDoesNotParseIsInvalidInput) {
    try {
        inspect_plpgsql_body("BEGIN IF THEN END");
        FAIL() << "a broken body was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::invalid_input);
    }
}

}  // namespace
}  // namespace datafix::sql
