// The application's functions at pre-flight, on a real cluster: the sample schema's vouchable sql
// helper, its plpgsql helper that writes form_change (which then joins the write closure), its
// function with EXECUTE, its SECURITY DEFINER function (refused until the environment names it),
// and functions made for one test: a C function, a proconfig that turns triggers off, a cycle, a
// chain deeper than datafix follows, an overload that makes a call ambiguous, a search_path that
// puts an application function before pg_catalog's, and a verify query that calls a writing or
// VOLATILE function. A refused function stops preview and apply before anything runs.
#include <nlohmann/json.hpp>

#include "target_support.hpp"
#include "targetdb/evidence_check.hpp"
#include "targetdb/preflight.hpp"
#include "targetdb/preflight_functions.hpp"
#include "targetdb/preflight_json.hpp"

namespace datafix::targetdb::test {
namespace {

constexpr const char* kRecordFormChange =
    "UPDATE app_public.application "
    "SET form_data = app_public.record_form_change(id, form_data || '{\"checked\": true}') "
    "WHERE id = 3;";

constexpr const char* kTouchRow =
    "UPDATE app_public.application SET archived_at = now() "
    "WHERE id = 3 AND app_public.touch_row('intake', intake_id) > 0;";

constexpr const char* kCurrentUserId =
    "UPDATE app_public.application SET updated_by = app_public.current_user_id() WHERE id = 3;";

TEST(FunctionPolicy, SqlHelperIsVouchedInAChangeAndInAVerifyQuery) {
    TestDatabase db(dev());
    auto plan = plan_for(
        "UPDATE app_public.app_user SET given_name = app_public.normalize_name(given_name) "
        "WHERE id = 5;",
        {1}, "SELECT app_public.normalize_name(given_name) FROM app_public.app_user WHERE id = 5;");
    auto report = build_preflight(db.target(), plan);

    const auto* change = function(report, "app_public.normalize_name(name text)");
    ASSERT_NE(change, nullptr) << preflight_to_json(report).dump(2);
    EXPECT_TRUE(change->vouched) << change->refusal;
    EXPECT_EQ(change->language, "sql");
    EXPECT_EQ(change->volatility, "immutable");
    EXPECT_EQ(change->owner, "app_owner");
    EXPECT_EQ(change->called_by, std::vector<std::string>{"statement 1"});
    EXPECT_TRUE(change->write_commands.empty());
    const auto* verify =
        function(report, "app_public.normalize_name(name text)", CallPlace::verify);
    ASSERT_NE(verify, nullptr);
    EXPECT_TRUE(verify->vouched) << verify->refusal;
    EXPECT_EQ(verify->called_by, std::vector<std::string>{"verify query 1"});
    EXPECT_TRUE(refusals(report).empty());

    TempImages images;
    auto before = db.state();
    auto session = Session::open(db.target());
    auto evidence = session.preview(plan, images.store);
    EXPECT_EQ(evidence.statements.at(0).actual_rows, 1);
    EXPECT_EQ(db.state(), before) << "a preview changes nothing";
}

TEST(FunctionPolicy, WritingHelpersTableJoinsTheWriteClosureAndItsImages) {
    TestDatabase db(dev());
    auto plan = plan_for(kRecordFormChange, {1});
    auto report = build_preflight(db.target(), plan);

    const auto* f =
        function(report, "app_public.record_form_change(application_id integer, form_data jsonb)");
    ASSERT_NE(f, nullptr) << preflight_to_json(report).dump(2);
    EXPECT_TRUE(f->vouched) << f->refusal;
    EXPECT_EQ(f->language, "plpgsql");
    ASSERT_EQ(f->write_commands.size(), 1u);
    EXPECT_EQ(f->write_commands[0].table, "app_public.form_change");
    EXPECT_EQ(f->write_commands[0].command, "INSERT");
    const auto* log = table(report, "app_public.form_change");
    ASSERT_NE(log, nullptr) << "the function's table is part of the write closure";
    EXPECT_EQ(log->reached_by,
              std::vector<std::string>{"function app_public.record_form_change(application_id "
                                       "integer, form_data jsonb) called by statement 1"});
    EXPECT_EQ(log->commands, std::vector<std::string>{"INSERT"});

    TempImages images;
    auto logged_before = db.psql("SELECT count(*) FROM app_public.form_change");
    auto session = Session::open(db.target());
    auto evidence = session.preview(plan, images.store);
    const TableChanges* captured = nullptr;
    for (const auto& c : evidence.closure) {
        if (c.qualified() == "app_public.form_change") {
            captured = &c;
        }
    }
    ASSERT_NE(captured, nullptr) << "the rows the function inserts are in the evidence";
    EXPECT_EQ(captured->inserted, 1);
    EXPECT_EQ(db.psql("SELECT count(*) FROM app_public.form_change"), logged_before);
}

TEST(FunctionPolicy, EveryStatementCallingAFunctionIsNamedOnce) {
    TestDatabase db(dev());
    auto plan = plan_for(std::string(kRecordFormChange) +
                             "UPDATE app_public.application SET form_data = "
                             "app_public.record_form_change(id, form_data) WHERE id = 4;",
                         {1, 1});
    auto report = build_preflight(db.target(), plan);
    ASSERT_EQ(report.functions.size(), 1u) << preflight_to_json(report).dump(2);
    EXPECT_EQ(report.functions[0].called_by,
              (std::vector<std::string>{"statement 1", "statement 2"}));
    const auto* log = table(report, "app_public.form_change");
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(log->reached_by.size(), 2u) << "one cause for each statement";
    EXPECT_TRUE(has(log->reached_by.at(1), "called by statement 2"));
}

TEST(FunctionPolicy, DynamicSqlIsRefusedAndPreviewAndApplyRunNothing) {
    TestDatabase db(dev());
    auto plan = plan_for(kTouchRow, {1});
    auto report = build_preflight(db.target(), plan);
    auto found = refusals(report);
    ASSERT_EQ(found.size(), 1u) << preflight_to_json(report).dump(2);
    EXPECT_EQ(found[0]->severity, Severity::blocker);
    EXPECT_EQ(found[0]->statement, 1);
    EXPECT_TRUE(has(found[0]->message,
                    "statement 1 calls app_public.touch_row(table_name text, row_id integer), "
                    "which datafix cannot vouch for: it runs dynamic SQL (EXECUTE)"))
        << found[0]->message;
    EXPECT_TRUE(has(found[0]->hint, "replace EXECUTE")) << found[0]->hint;
    EXPECT_FALSE(has(found[0]->message, "intake")) << "no literal of the statement is shown";
    EXPECT_TRUE(report.has_blockers());

    TempImages images;
    auto before = db.state();
    auto archived = db.psql("SELECT archived_at IS NULL FROM app_public.application WHERE id = 3");
    auto session = Session::open(db.target());
    auto message = expect_error(ErrorCode::refused, [&] { session.preview(plan, images.store); });
    EXPECT_TRUE(has(message,
                    "dev: pre-flight refused the change: statement 1 calls "
                    "app_public.touch_row"))
        << message;
    EXPECT_TRUE(has(message, "HINT:")) << message;
    EXPECT_EQ(images.files(), 0u) << "nothing was rehearsed";

    Evidence forged;
    forged.kind = RunKind::change;
    forged.plan_sha256 = plan.sha256;
    forged.system_identifier = session.facts().system_identifier;
    forged.statements.resize(1);
    forged.fingerprint = fingerprint(forged);
    expect_error(ErrorCode::refused, [&] { session.apply(plan, forged, images.store, kNoHook); });
    EXPECT_EQ(db.state(), before);
    EXPECT_EQ(db.psql("SELECT archived_at IS NULL FROM app_public.application WHERE id = 3"),
              archived);
}

TEST(FunctionPolicy, SecurityDefinerIsRefusedUntilTheEnvironmentNamesIt) {
    TestDatabase db(dev());
    auto plan = plan_for(kCurrentUserId, {1});
    auto report = build_preflight(db.target(), plan);
    const auto* f = function(report, "app_public.current_user_id()");
    ASSERT_NE(f, nullptr);
    EXPECT_FALSE(f->vouched);
    EXPECT_TRUE(f->security_definer);
    EXPECT_EQ(f->settings, std::vector<std::string>{"search_path"});
    auto found = refusals(report);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_TRUE(has(found[0]->message,
                    "it is SECURITY DEFINER: it runs with the privileges of "
                    "its owner app_owner"))
        << found[0]->message;
    EXPECT_TRUE(has(found[0]->hint, "vouch_security_definer of environment dev")) << found[0]->hint;
    EXPECT_TRUE(has(found[0]->hint, "[\"app_public.current_user_id\"]")) << found[0]->hint;

    auto target = db.target();
    target.vouch_security_definer = {"app_public.current_user_id"};
    auto allowed = build_preflight(target, plan);
    EXPECT_TRUE(refusals(allowed).empty()) << preflight_to_json(allowed).dump(2);
    ASSERT_NE(function(allowed, "app_public.current_user_id()"), nullptr);
    EXPECT_TRUE(function(allowed, "app_public.current_user_id()")->vouched);

    TempImages images;
    auto session = Session::open(target);
    auto evidence = session.preview(plan, images.store);
    EXPECT_EQ(evidence.statements.at(0).actual_rows, 1);
}

TEST(FunctionPolicy, SecurityDefinerWithoutItsOwnSearchPathIsRefusedEvenWhenNamed) {
    TestDatabase db(dev());
    db.psql(
        "SET ROLE app_owner; "
        "CREATE FUNCTION app_public.owner_count() RETURNS bigint LANGUAGE sql STABLE "
        "SECURITY DEFINER AS $$ SELECT count(*) FROM app_public.app_user $$;");
    auto target = db.target();
    target.vouch_security_definer = {"app_public.owner_count"};
    auto report =
        build_preflight(target, plan_for("UPDATE app_public.app_user SET given_name = given_name "
                                         "WHERE id = 5 AND app_public.owner_count() > 0;",
                                         {1}));
    auto found = refusals(report);
    ASSERT_EQ(found.size(), 1u) << preflight_to_json(report).dump(2);
    EXPECT_TRUE(has(found[0]->message, "SECURITY DEFINER without SET search_path"))
        << found[0]->message;
}

TEST(FunctionPolicy, LanguageSettingsAndBodiesDatafixCannotReadAreRefused) {
    TestDatabase db(dev());
    db.psql(
        "SET ROLE app_owner; "
        "CREATE FUNCTION app_public.quiet_touch(i integer) RETURNS integer LANGUAGE sql "
        "SET session_replication_role = replica AS $$ SELECT i $$; "
        "CREATE FUNCTION app_public.slow_ok(i integer) RETURNS integer LANGUAGE plpgsql "
        "SET statement_timeout = 0 AS $$ BEGIN RETURN i; END $$; "
        "CREATE FUNCTION app_public.make_table(i integer) RETURNS integer LANGUAGE plpgsql "
        "AS $$ BEGIN CREATE TEMP TABLE scratch (n integer); RETURN i; END $$; "
        "CREATE FUNCTION app_public.atomic_id(i integer) RETURNS integer LANGUAGE sql "
        "BEGIN ATOMIC SELECT app_public.touch_row('intake', i); END; "
        "CREATE FUNCTION app_public.calls_dynamic(i integer) RETURNS integer LANGUAGE sql "
        "AS $$ SELECT app_public.touch_row('intake', i) $$; "
        "RESET ROLE; "
        "CREATE FUNCTION app_public.c_length(text) RETURNS integer LANGUAGE internal "
        "IMMUTABLE AS 'textlen';");
    struct Case {
        std::string call;
        std::string signature;
        std::string reason;
    };
    std::vector<Case> cases = {
        {"app_public.quiet_touch(id)", "app_public.quiet_touch(i integer)",
         "it sets session_replication_role for its run"},
        {"app_public.slow_ok(id)", "app_public.slow_ok(i integer)",
         "it sets statement_timeout for its run"},
        {"app_public.make_table(id)", "app_public.make_table(i integer)",
         "it runs statements other than INSERT, UPDATE, DELETE, MERGE and SELECT (ddl)"},
        // A SQL-standard body is read (pg_get_functiondef) and judged like a quoted one.
        {"app_public.atomic_id(id)", "app_public.atomic_id(i integer)",
         "it calls app_public.touch_row(table_name text, row_id integer), which runs dynamic "
         "SQL"},
        {"app_public.calls_dynamic(id)", "app_public.calls_dynamic(i integer)",
         "it calls app_public.touch_row(table_name text, row_id integer), which runs dynamic "
         "SQL"},
        {"app_public.c_length(given_name)", "app_public.c_length(text)",
         "it is written in internal, and datafix reads only sql and plpgsql bodies"},
    };
    for (const auto& c : cases) {
        auto report = build_preflight(
            db.target(), plan_for("UPDATE app_public.app_user SET given_name = given_name "
                                  "WHERE id = 5 AND " +
                                      c.call + " IS NOT NULL;",
                                  {1}));
        auto found = refusals(report);
        ASSERT_EQ(found.size(), 1u) << c.call << ": " << preflight_to_json(report).dump(2);
        EXPECT_TRUE(has(found[0]->message,
                        "statement 1 calls " + c.signature + ", which datafix cannot vouch for"))
            << found[0]->message;
        EXPECT_TRUE(has(found[0]->message, c.reason)) << found[0]->message;
        EXPECT_FALSE(found[0]->hint.empty());
    }
}

TEST(FunctionPolicy, CyclesEndAndChainsDeeperThanTheLimitAreRefused) {
    TestDatabase db(dev());
    // ping and pong call each other; each is plain otherwise.
    db.psql(
        "SET ROLE app_owner; "
        "CREATE FUNCTION app_public.ping(n integer) RETURNS integer LANGUAGE plpgsql AS "
        "$$ BEGIN RETURN n; END $$; "
        "CREATE FUNCTION app_public.pong(n integer) RETURNS integer LANGUAGE plpgsql AS "
        "$$ BEGIN IF n > 0 THEN RETURN app_public.ping(n - 1); END IF; RETURN 0; END $$; "
        "CREATE OR REPLACE FUNCTION app_public.ping(n integer) RETURNS integer LANGUAGE plpgsql "
        "AS $$ BEGIN IF n > 0 THEN RETURN app_public.pong(n - 1); END IF; RETURN 0; END $$;");
    auto cycle = build_preflight(db.target(),
                                 plan_for("UPDATE app_public.app_user SET given_name = given_name "
                                          "WHERE id = 5 AND app_public.ping(2) = 0;",
                                          {1}));
    EXPECT_TRUE(refusals(cycle).empty()) << preflight_to_json(cycle).dump(2);
    const auto* pong = function(cycle, "app_public.pong(n integer)");
    ASSERT_NE(pong, nullptr);
    EXPECT_EQ(pong->called_by, std::vector<std::string>{"app_public.ping(n integer)"});

    // level_1 calls level_2 ... calls level_<limit + 1>.
    std::string chain = "SET ROLE app_owner; ";
    for (int i = kMaxFunctionDepth + 1; i >= 1; --i) {
        std::string body = i == kMaxFunctionDepth + 1
                               ? "SELECT n"
                               : "SELECT app_public.level_" + std::to_string(i + 1) + "(n)";
        chain += "CREATE FUNCTION app_public.level_" + std::to_string(i) +
                 "(n integer) RETURNS integer LANGUAGE sql AS $$ " + body + " $$; ";
    }
    db.psql(chain);
    auto deep = build_preflight(db.target(),
                                plan_for("UPDATE app_public.app_user SET given_name = given_name "
                                         "WHERE id = 5 AND app_public.level_1(1) = 1;",
                                         {1}));
    auto found = refusals(deep);
    ASSERT_EQ(found.size(), 1u) << preflight_to_json(deep).dump(2);
    EXPECT_TRUE(has(found[0]->message,
                    "more than " + std::to_string(kMaxFunctionDepth) + " nested function calls"))
        << found[0]->message;
}

TEST(FunctionPolicy, CallsResolveThroughTheRolesSearchPathAndAmbiguityIsRefused) {
    TestDatabase db(dev());
    db.psql(
        "SET ROLE app_owner; "
        "CREATE FUNCTION app_public.now() RETURNS timestamptz LANGUAGE plpgsql AS "
        "$$ BEGIN EXECUTE 'SELECT 1'; RETURN pg_catalog.now(); END $$; "
        "CREATE FUNCTION app_public.normalize_name(name varchar, keep_case boolean DEFAULT false) "
        "RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT btrim(name) $$;");
    // With pg_catalog first (the default), now() is PostgreSQL's.
    auto plain = build_preflight(
        db.target(),
        plan_for("UPDATE app_public.app_user SET updated_at = now() WHERE id = 5;", {1}));
    EXPECT_TRUE(refusals(plain).empty()) << preflight_to_json(plain).dump(2);

    // A search path that places the application's schema first would make now() the
    // application's, in the change and in datafix's own queries: the session is refused.
    auto target = db.target();
    target.session_settings["search_path"] = "app_public, pg_catalog";
    try {
        build_preflight(
            target,
            plan_for("UPDATE app_public.app_user SET updated_at = now() WHERE id = 5;", {1}));
        ADD_FAILURE() << "a search_path with pg_catalog after app_public was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::target_refused);
        EXPECT_TRUE(has(e.message(), "search_path puts app_public before pg_catalog"))
            << e.message();
        EXPECT_TRUE(has(e.hint(), "ALTER DATABASE")) << e.hint();
    }
    // The same through the database's own default, which datafix.toml does not show.
    db.psql("ALTER DATABASE \"" + db.name + "\" SET search_path = app_public, pg_catalog");
    EXPECT_THROW(build_preflight(db.target(),
                                 plan_for("DELETE FROM app_public.app_user WHERE id = 5;", {1})),
                 Error);
    db.psql("ALTER DATABASE \"" + db.name + "\" RESET search_path");

    // Two overloads that one argument count cannot tell apart.
    auto ambiguous =
        build_preflight(db.target(), plan_for("UPDATE app_public.app_user SET given_name = "
                                              "app_public.normalize_name(given_name) WHERE id = 5;",
                                              {1}));
    auto found = refusals(ambiguous);
    ASSERT_EQ(found.size(), 1u) << preflight_to_json(ambiguous).dump(2);
    EXPECT_TRUE(has(found[0]->message, "statement 1 calls app_public.normalize_name(1 argument)"))
        << found[0]->message;
    EXPECT_TRUE(has(found[0]->message, "may resolve to any of")) << found[0]->message;
    EXPECT_TRUE(has(found[0]->hint, "cast its arguments")) << found[0]->hint;

    auto missing = build_preflight(db.target(),
                                   plan_for("UPDATE app_public.app_user SET given_name = "
                                            "app_public.no_such_function(given_name) WHERE id = 5;",
                                            {1}));
    found = refusals(missing);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_TRUE(has(found[0]->message, "does not exist in dev")) << found[0]->message;
}

TEST(FunctionPolicy, VerifyQueriesCallOnlyReadOnlyStableFunctions) {
    TestDatabase db(dev());
    db.psql(
        "SET ROLE app_owner; "
        "CREATE FUNCTION app_public.name_length(name text) RETURNS integer LANGUAGE sql "
        "AS $$ SELECT length(name) $$;");
    auto report = build_preflight(
        db.target(),
        plan_for("UPDATE app_public.app_user SET given_name = given_name WHERE id = 5;", {1},
                 "SELECT app_public.record_form_change(id, form_data) FROM app_public.application "
                 "WHERE id = 3;\n"
                 "SELECT app_public.name_length(given_name) FROM app_public.app_user "
                 "WHERE id = 5;"));
    auto found = refusals(report);
    ASSERT_EQ(found.size(), 2u) << preflight_to_json(report).dump(2);
    EXPECT_EQ(found[0]->statement, 0) << "a verify query is no statement of the change";
    EXPECT_TRUE(has(found[0]->message, "verify query 1 calls app_public.record_form_change"))
        << found[0]->message;
    EXPECT_TRUE(has(found[0]->message, "is VOLATILE")) << found[0]->message;
    EXPECT_TRUE(has(found[1]->message,
                    "verify query 2 calls app_public.name_length(name text), which datafix "
                    "cannot vouch for: it is VOLATILE"))
        << found[1]->message;

    // STABLE but writing (PostgreSQL lets the owner say so): refused for what it writes.
    db.psql("ALTER FUNCTION app_public.record_form_change(integer, jsonb) STABLE");
    auto writing = build_preflight(
        db.target(),
        plan_for("UPDATE app_public.app_user SET given_name = given_name WHERE id = 5;", {1},
                 "SELECT app_public.record_form_change(id, form_data) FROM app_public.application "
                 "WHERE id = 3;"));
    found = refusals(writing);
    ASSERT_EQ(found.size(), 1u) << preflight_to_json(writing).dump(2);
    EXPECT_TRUE(has(found[0]->message,
                    "writes app_public.form_change, and a verify query only "
                    "reads"))
        << found[0]->message;
}

TEST(FunctionPolicy, BodiesCallOnlyAllowlistedBuiltins) {
    TestDatabase db(dev());
    db.psql(
        "SET ROLE app_owner; "
        "CREATE FUNCTION app_public.read_file_name(i integer) RETURNS text LANGUAGE plpgsql AS "
        "$$ BEGIN RETURN pg_read_file('postmaster.pid'); END $$;");
    auto report = build_preflight(
        db.target(), plan_for("UPDATE app_public.app_user SET given_name = given_name "
                              "WHERE id = 5 AND app_public.read_file_name(id) IS NOT NULL;",
                              {1}));
    auto found = refusals(report);
    ASSERT_EQ(found.size(), 1u) << preflight_to_json(report).dump(2);
    EXPECT_TRUE(has(found[0]->message,
                    "it calls pg_catalog.pg_read_file(), which is not one of the data functions"))
        << found[0]->message;
    EXPECT_FALSE(has(found[0]->message, "postmaster")) << "no literal of the body is shown";
}

}  // namespace
}  // namespace datafix::targetdb::test
