// capture_plan: the before-select and the RETURNING rewrite are valid SQL that select what the
// statement touches. Each produced query is analyzed again to check it parses and what it is.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "sql/analysis.hpp"
#include "sql/capture_plan.hpp"

namespace datafix::sql {
namespace {

Statement first(const std::string& text) {
    return analyze(text, FileRole::change, "c.sql").statements.at(0);
}

// The produced SQL parses as one statement of `kind`; returns it.
Statement reparsed(const std::string& sql, FileRole role, StatementKind kind) {
    Analysis a = analyze(sql, role, "plan.sql");
    EXPECT_EQ(a.statements.size(), 1U) << sql;
    EXPECT_EQ(a.statements.at(0).kind, kind) << sql;
    return a.statements.at(0);
}

TEST(CapturePlan, UpdateByKey) {
    CapturePlan plan =
        capture_plan(first("UPDATE app_public.app_user SET email_address = 'a@example.com' WHERE "
                           "id = 42 RETURNING id"));
    EXPECT_EQ(plan.schema, "app_public");
    EXPECT_EQ(plan.table, "app_user");
    EXPECT_EQ(plan.alias, "app_user");
    EXPECT_EQ(plan.before_select, "SELECT app_user.* FROM app_public.app_user WHERE id = 42");
    EXPECT_EQ(plan.with_returning,
              "UPDATE app_public.app_user SET email_address = 'a@example.com' WHERE id = 42 "
              "RETURNING app_user.*");
    Statement select = reparsed(plan.before_select, FileRole::verify, StatementKind::select);
    EXPECT_TRUE(select.verdict.allowed) << select.verdict.reason;
    Statement update = reparsed(plan.with_returning, FileRole::change, StatementKind::update);
    EXPECT_TRUE(update.verdict.allowed);
    EXPECT_EQ(update.fingerprint, first("UPDATE app_public.app_user SET email_address = 'x' "
                                        "WHERE id = 1 RETURNING app_user.*")
                                      .fingerprint);
}

TEST(CapturePlan, UpdateWithAliasFromAndCte) {
    CapturePlan plan =
        capture_plan(first("WITH owner AS (SELECT id FROM app_public.app_user WHERE sub = 'abc')\n"
                           "UPDATE app_public.application a SET owner = o.id FROM owner o\n"
                           "WHERE a.application_number = 'CCBC-1'"));
    EXPECT_EQ(plan.alias, "a");
    EXPECT_EQ(plan.before_select,
              "WITH owner AS (SELECT id FROM app_public.app_user WHERE sub = 'abc') SELECT a.* "
              "FROM app_public.application a WHERE EXISTS (SELECT 1 FROM owner o WHERE "
              "a.application_number = 'CCBC-1')");
    EXPECT_NE(plan.with_returning.find("RETURNING a.*"), std::string::npos);
    reparsed(plan.before_select, FileRole::verify, StatementKind::select);
    reparsed(plan.with_returning, FileRole::change, StatementKind::update);
}

TEST(CapturePlan, DeleteUsingReadsEachTargetRowOnce) {
    CapturePlan plan = capture_plan(
        first("DELETE FROM app_public.application_status s USING app_public.application a "
              "WHERE s.application_id = a.id AND a.application_number = 'CCBC-2' RETURNING s.id"));
    EXPECT_EQ(plan.alias, "s");
    EXPECT_EQ(plan.before_select,
              "SELECT s.* FROM app_public.application_status s WHERE EXISTS (SELECT 1 FROM "
              "app_public.application a WHERE s.application_id = a.id AND a.application_number = "
              "'CCBC-2')");
    EXPECT_EQ(plan.with_returning,
              "DELETE FROM app_public.application_status s USING app_public.application a WHERE "
              "s.application_id = a.id AND a.application_number = 'CCBC-2' RETURNING s.*");
    reparsed(plan.before_select, FileRole::verify, StatementKind::select);
}

TEST(CapturePlan, UpdateOnlyKeepsOnly) {
    CapturePlan plan = capture_plan(first("UPDATE ONLY intake SET intake_number = 3 WHERE id = 1"));
    EXPECT_EQ(plan.schema, "");
    EXPECT_EQ(plan.before_select, "SELECT intake.* FROM ONLY intake WHERE id = 1");
}

TEST(CapturePlan, InsertHasNoBeforeSelect) {
    CapturePlan plan =
        capture_plan(first("INSERT INTO app_public.application_status (application_id, status) "
                           "VALUES (1, 'received')"));
    EXPECT_EQ(plan.before_select, "");
    EXPECT_FALSE(plan.on_conflict_update);
    EXPECT_EQ(plan.with_returning,
              "INSERT INTO app_public.application_status (application_id, status) VALUES (1, "
              "'received') RETURNING application_status.*");
    reparsed(plan.with_returning, FileRole::change, StatementKind::insert);
}

TEST(CapturePlan, UpsertIsFlagged) {
    CapturePlan plan = capture_plan(
        first("INSERT INTO app_public.app_user AS u (sub, email_address) VALUES ('s', 'e') "
              "ON CONFLICT (sub) DO UPDATE SET email_address = excluded.email_address"));
    EXPECT_TRUE(plan.on_conflict_update);
    EXPECT_EQ(plan.alias, "u");
    EXPECT_NE(plan.with_returning.find("RETURNING u.*"), std::string::npos);
    reparsed(plan.with_returning, FileRole::change, StatementKind::insert);
}

TEST(CapturePlan, MergeReadsMatchedTargetRows) {
    CapturePlan plan = capture_plan(
        first("MERGE INTO app_public.app_user u USING (VALUES ('s1', 'e1')) AS v(sub, email) "
              "ON u.sub = v.sub WHEN MATCHED THEN UPDATE SET email_address = v.email "
              "WHEN NOT MATCHED THEN INSERT (sub, email_address) VALUES (v.sub, v.email)"));
    EXPECT_EQ(plan.alias, "u");
    EXPECT_EQ(plan.with_returning, "");
    EXPECT_EQ(plan.before_select,
              "SELECT u.* FROM app_public.app_user u WHERE EXISTS (SELECT 1 FROM (VALUES ('s1', "
              "'e1')) v(sub, email) WHERE u.sub = v.sub)");
    reparsed(plan.before_select, FileRole::verify, StatementKind::select);
}

TEST(CapturePlan, RefusesNonDml) {
    Statement select = analyze("SELECT 1", FileRole::verify, "v.sql").statements.at(0);
    EXPECT_THROW(capture_plan(select), Error);
}

}  // namespace
}  // namespace datafix::sql
