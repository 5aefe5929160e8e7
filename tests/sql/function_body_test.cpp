// Trigger function bodies read with PostgreSQL's PL/pgSQL and SQL parsers.
#include <gtest/gtest.h>

#include <algorithm>

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

TEST(FunctionBody, EachWriteCarriesItsCommand) {
    auto f = inspect_plpgsql_body(
        "BEGIN UPDATE app_public.application_status SET archived_at = now() WHERE id <> NEW.id;\n"
        "INSERT INTO app_public.record_version (op) VALUES (TG_OP);\n"
        "DELETE FROM app_public.application_status WHERE false; RETURN NULL; END");
    EXPECT_EQ(f.write_commands,
              (std::vector<BodyWrite>{{"app_public.application_status", "UPDATE"},
                                      {"app_public.record_version", "INSERT"},
                                      {"app_public.application_status", "DELETE"}}));
}

TEST(FunctionBody, AssignmentsToNewAreNamed) {
    auto f = inspect_plpgsql_body(
        "DECLARE user_id integer; BEGIN user_id := 1; NEW.updated_at := now(); "
        "new.updated_by = user_id; OLD.x := 1; RETURN NEW; END");
    EXPECT_EQ(f.assigns_new, (std::vector<std::string>{"updated_at", "updated_by"}));
}

TEST(FunctionBody, RoleChangesAndCallsAreFound) {
    auto f = inspect_plpgsql_body(
        "BEGIN PERFORM set_config('role', 'app_internal', true); SET ROLE app_internal; "
        "PERFORM app_private.enqueue(NEW.id); NEW.x := app_public.slug(NEW.name); "
        "RETURN NEW; END");
    EXPECT_EQ(f.role_changes, (std::vector<std::string>{"set_config('role', ...)", "SET ROLE"}));
    EXPECT_EQ(f.calls, (std::vector<std::string>{"app_private.enqueue", "app_public.slug"}));
    EXPECT_EQ(f.roles_set, std::vector<std::string>{"app_internal"});
    EXPECT_EQ(inspect_plpgsql_body("BEGIN PERFORM set_config('role', 'auditor', true); "
                                   "RETURN NEW; END")
                  .roles_set,
              std::vector<std::string>{"auditor"});
    EXPECT_TRUE(inspect_plpgsql_body("BEGIN PERFORM set_config('jwt.claims.sub', 'x', true); "
                                     "RETURN NEW; END")
                    .role_changes.empty());
}

TEST(FunctionBody, RuleActionsNameTheirTables) {
    auto f = inspect_rule_definition(
        "CREATE RULE log_attachment_delete AS ON DELETE TO app_public.attachment DO INSERT INTO "
        "app_public.deleted_attachment (attachment_id, file_name) VALUES (old.id, old.file_name);");
    EXPECT_EQ(f.write_commands,
              (std::vector<BodyWrite>{{"app_public.deleted_attachment", "INSERT"}}));
    auto instead = inspect_rule_definition(
        "CREATE RULE r AS ON UPDATE TO v DO INSTEAD (UPDATE t SET a = new.a WHERE id = old.id; "
        "DELETE FROM u WHERE id = old.id);");
    EXPECT_EQ(instead.write_commands, (std::vector<BodyWrite>{{"t", "UPDATE"}, {"u", "DELETE"}}));
    EXPECT_THROW(inspect_rule_definition("CREATE RULE"), Error);
}

TEST(FunctionBody, CallsKeepTheirSchemaAndArgumentCount) {
    auto f = inspect_plpgsql_body(
        "DECLARE n integer; BEGIN\n"
        "  n := app_public.helper(NEW.id, 'x');\n"
        "  PERFORM pg_catalog.pg_sleep(1);\n"
        "  FOR n IN WITH t AS (SELECT count(*) AS c FROM app_public.intake) SELECT c FROM t LOOP\n"
        "    NULL;\n"
        "  END LOOP;\n"
        "  RETURN NEW;\n"
        "END");
    EXPECT_EQ(f.called,
              (std::vector<FunctionCall>{
                  {"app_public", "helper", 2}, {"pg_catalog", "pg_sleep", 1}, {"", "count", 0}}));
    EXPECT_FALSE(f.unreadable) << "a FOR loop's WITH query parses as it is";
}

TEST(FunctionBody, SettingsAndStatementsBeyondDmlAreNamed) {
    auto f = inspect_plpgsql_body(
        "BEGIN\n"
        "  SET LOCAL statement_timeout = 0;\n"
        "  PERFORM set_config('Session_Replication_Role', 'replica', true);\n"
        "  TRUNCATE app_public.form_change;\n"
        "  RETURN NULL;\n"
        "END");
    EXPECT_EQ(f.settings_changed,
              (std::vector<std::string>{"statement_timeout", "session_replication_role"}));
    EXPECT_EQ(f.other_statements, std::vector<std::string>{"ddl"});
    EXPECT_FALSE(f.dynamic_sql);
}

TEST(FunctionBody, SqlBodyThatDoesNotParseIsUnreadable) {
    EXPECT_TRUE(inspect_sql_body("SELECT FROM WHERE (").unreadable);
    EXPECT_FALSE(inspect_sql_body("SELECT initcap(btrim($1))").unreadable);
}

TEST(FunctionBody, ResolvedCallsFollowTheAllowlist) {
    EXPECT_FALSE(refused_resolved_call("pg_catalog", "lower", false));
    EXPECT_TRUE(refused_resolved_call("pg_catalog", "pg_read_file", true));
    EXPECT_TRUE(refused_resolved_call("pg_catalog", "nextval", false)) << "verify draws no keys";
    EXPECT_FALSE(refused_resolved_call("pg_catalog", "nextval", true));
    EXPECT_TRUE(refused_resolved_call("information_schema", "_pg_expandarray", true));
    EXPECT_FALSE(refused_resolved_call("app_public", "normalize_name", true));
}

TEST(FunctionBody, OperatorsAndCastsAreNamedAsWritten) {
    auto f = inspect_sql_body(
        "UPDATE app_public.application SET form_data = form_data || '{}'::jsonb "
        "WHERE id OPERATOR(app_public.===) 3 AND owner BETWEEN 1 AND 9 "
        "AND application_number LIKE 'C%' AND -id < 0 AND CAST(id AS app_public.code) IS NOT NULL "
        "AND intake_id IN (SELECT id FROM app_public.intake ORDER BY id USING >)");
    auto has_op = [&](const std::string& schema, const std::string& name, bool binary) {
        return std::find(f.operators.begin(), f.operators.end(),
                         OperatorUse{schema, name, binary}) != f.operators.end();
    };
    EXPECT_TRUE(has_op("", "||", true));
    EXPECT_TRUE(has_op("app_public", "===", true));
    EXPECT_TRUE(has_op("", ">=", true)) << "BETWEEN runs >= and <=";
    EXPECT_TRUE(has_op("", "<=", true));
    EXPECT_TRUE(has_op("", "~~", true)) << "LIKE runs ~~";
    EXPECT_TRUE(has_op("", "-", false)) << "a prefix operator";
    EXPECT_TRUE(has_op("", "<", true));
    EXPECT_TRUE(has_op("", ">", true)) << "ORDER BY ... USING";
    EXPECT_FALSE(has_op("", "BETWEEN", true));
    EXPECT_EQ(f.casts, (std::vector<TypeReference>{{"", "jsonb"}, {"app_public", "code"}}));
}

TEST(FunctionBody, OperatorsAndCastsOfAPlpgsqlBody) {
    auto f = inspect_plpgsql_body(
        "BEGIN IF NEW.id === OLD.id THEN NEW.code := NEW.id::app_public.code; END IF; "
        "RETURN NEW; END");
    EXPECT_EQ(f.operators, (std::vector<OperatorUse>{{"", "===", true}}));
    EXPECT_EQ(f.casts, (std::vector<TypeReference>{{"app_public", "code"}}));
}

TEST(FunctionBody, SqlStandardBodyIsReadFromItsDefinition) {
    // As pg_get_functiondef prints it under an empty search_path.
    auto f = inspect_function_definition(
        "CREATE OR REPLACE FUNCTION app_public.log_and_count(id integer)\n"
        " RETURNS bigint\n LANGUAGE sql\nBEGIN ATOMIC\n"
        " INSERT INTO app_public.form_change (application_id, changed_keys) VALUES (id, "
        "ARRAY['x'::text]);\n"
        " SELECT count(*) AS count FROM app_public.form_change WHERE (form_change.application_id "
        "OPERATOR(app_public.===) app_public.normalize_id(log_and_count.id));\nEND\n");
    EXPECT_EQ(f.writes, std::vector<std::string>{"app_public.form_change"});
    EXPECT_EQ(f.write_commands[0].command, "INSERT");
    EXPECT_TRUE(f.other_statements.empty());
    EXPECT_TRUE(std::find(f.called.begin(), f.called.end(),
                          FunctionCall{"app_public", "normalize_id", 1}) != f.called.end());
    EXPECT_TRUE(std::find(f.operators.begin(), f.operators.end(),
                          OperatorUse{"app_public", "===", true}) != f.operators.end());

    auto ret = inspect_function_definition(
        "CREATE OR REPLACE FUNCTION app_public.f(x integer) RETURNS integer LANGUAGE sql "
        "IMMUTABLE RETURN pg_catalog.pg_read_file('x')::integer + x");
    EXPECT_TRUE(std::find(ret.called.begin(), ret.called.end(),
                          FunctionCall{"pg_catalog", "pg_read_file", 1}) != ret.called.end());
    EXPECT_TRUE(ret.writes.empty());

    EXPECT_THROW(inspect_function_definition("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS "
                                             "'SELECT 1'"),
                 Error)
        << "a quoted body is read from prosrc, not from here";
    EXPECT_THROW(inspect_function_definition("CREATE FUNCTION ("), Error);
}

}  // namespace
}  // namespace datafix::sql
