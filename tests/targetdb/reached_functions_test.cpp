// Functions a change reaches without calling them by name, at pre-flight on a real cluster: the
// functions of the operators and casts a statement or verify query uses, the column defaults,
// generated columns, CHECK constraints and domain checks of the tables it writes, the trigger
// functions of every table of its write closure, and functions with a SQL-standard body. Each is
// vouched for as a called function is: what datafix can vouch for passes (the sample schema's
// operator === and its RETURN-bodied display_name among them), anything else is refused with
// the way it is reached named, and preview runs nothing.
#include <nlohmann/json.hpp>

#include "target_support.hpp"
#include "targetdb/preflight.hpp"
#include "targetdb/preflight_functions.hpp"
#include "targetdb/preflight_json.hpp"

namespace datafix::targetdb::test {
namespace {

// Exactly one refusal, whose message holds `message` and whose HINT is not empty; and preview
// refuses before anything runs.
void expect_refused(TestDatabase& db, const EnvironmentTarget& target, const ChangePlan& plan,
                    const std::string& message, const std::string& hint = {}) {
    auto report = build_preflight(target, plan);
    auto found = refusals(report);
    ASSERT_EQ(found.size(), 1u) << preflight_to_json(report).dump(2);
    EXPECT_TRUE(has(found[0]->message, message)) << found[0]->message;
    EXPECT_FALSE(found[0]->hint.empty());
    if (!hint.empty()) {
        EXPECT_TRUE(has(found[0]->hint, hint)) << found[0]->hint;
    }
    TempImages images;
    auto before = db.state();
    auto text = expect_error(ErrorCode::refused, [&] {
        auto session = Session::open(target);
        session.preview(plan, images.store);
    });
    EXPECT_TRUE(has(text, "pre-flight refused the change")) << text;
    EXPECT_TRUE(has(text, message)) << text;
    EXPECT_EQ(db.state(), before) << "nothing ran";
    EXPECT_EQ(images.files(), 0u);
}

// A plpgsql function that reads a table by name: dynamic SQL, which datafix cannot vouch for.
constexpr const char* kDynamicHelpers =
    "SET ROLE app_owner; "
    "CREATE FUNCTION app_public.peek(a integer, b integer) RETURNS boolean LANGUAGE plpgsql "
    "IMMUTABLE AS $$ BEGIN EXECUTE 'SELECT 1'; RETURN a = b; END $$; "
    "CREATE FUNCTION app_public.fits(t text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS "
    "$$ BEGIN EXECUTE 'SELECT 1'; RETURN length(t) < 100; END $$; "
    "RESET ROLE;";

TEST(ReachedFunctions, AVouchedOperatorPassesAndItsFunctionIsNamed) {
    TestDatabase db(dev());
    auto plan = plan_for(
        "UPDATE app_public.app_user SET given_name = given_name "
        "WHERE id OPERATOR(app_public.===) 5;",
        {1}, "SELECT count(*) FROM app_public.app_user WHERE id OPERATOR(app_public.===) 5;");
    auto report = build_preflight(db.target(), plan);
    EXPECT_TRUE(refusals(report).empty()) << preflight_to_json(report).dump(2);
    const auto* f = function(report, "app_public.same_id(a integer, b integer)");
    ASSERT_NE(f, nullptr) << preflight_to_json(report).dump(2);
    EXPECT_TRUE(f->vouched) << f->refusal;
    EXPECT_EQ(f->called_by,
              std::vector<std::string>{"operator app_public.===(integer, integer) in statement 1"});
    const auto* verify =
        function(report, "app_public.same_id(a integer, b integer)", CallPlace::verify);
    ASSERT_NE(verify, nullptr);
    EXPECT_TRUE(verify->vouched) << verify->refusal << " (IMMUTABLE, reads nothing)";

    TempImages images;
    auto session = Session::open(db.target());
    auto evidence = session.preview(plan, images.store);
    EXPECT_EQ(evidence.statements.at(0).actual_rows, 1);
}

TEST(ReachedFunctions, AnOperatorRefusalNamesTheOperatorAndItsFunction) {
    TestDatabase db(dev());
    db.psql(std::string(kDynamicHelpers) +
            "SET ROLE app_owner; CREATE OPERATOR app_public.=~= (LEFTARG = integer, "
            "RIGHTARG = integer, FUNCTION = app_public.peek); RESET ROLE;");
    expect_refused(db, db.target(),
                   plan_for("UPDATE app_public.app_user SET given_name = given_name "
                            "WHERE id OPERATOR(app_public.=~=) 5;",
                            {1}),
                   "operator app_public.=~=(integer, integer) in statement 1 calls "
                   "app_public.peek(a integer, b integer), which datafix cannot vouch for: it "
                   "runs dynamic SQL (EXECUTE)",
                   "replace EXECUTE");
}

TEST(ReachedFunctions, PostgresFunctionsOffTheAllowlistAreRefusedThroughAnOperator) {
    TestDatabase db(dev());
    // to_regclass is PostgreSQL's own, executable by anyone, and not on the allowlist.
    db.psql(
        "SET ROLE app_owner; CREATE OPERATOR app_public.@? (RIGHTARG = text, "
        "FUNCTION = pg_catalog.to_regclass); RESET ROLE;");
    const std::string refusal =
        "operator app_public.@?(text) in statement 1 calls pg_catalog.to_regclass(text), which "
        "datafix cannot vouch for: it is not one of the data functions a change may call";
    expect_refused(db, db.target(),
                   plan_for("UPDATE app_public.app_user SET given_name = given_name "
                            "WHERE id = 5 AND (OPERATOR(app_public.@?) given_name) IS NULL;",
                            {1}),
                   refusal, "data functions");

    // A verify query follows the same policy.
    auto report = build_preflight(
        db.target(),
        plan_for("UPDATE app_public.app_user SET given_name = given_name WHERE id = 5;", {1},
                 "SELECT count(*) FROM app_public.app_user "
                 "WHERE (OPERATOR(app_public.@?) given_name) IS NULL;"));
    auto found = refusals(report);
    ASSERT_EQ(found.size(), 1u) << preflight_to_json(report).dump(2);
    EXPECT_TRUE(has(found[0]->message,
                    "operator app_public.@?(text) in verify query 1 calls "
                    "pg_catalog.to_regclass(text)"))
        << found[0]->message;
}

TEST(ReachedFunctions, CastFunctionsAreVouchedForOrRefused) {
    TestDatabase db(dev());
    db.psql(
        "SET ROLE app_owner; "
        "CREATE TYPE app_public.name_pair AS (given text, family text); "
        "CREATE FUNCTION app_public.name_pair_of(t text) RETURNS app_public.name_pair "
        "LANGUAGE sql IMMUTABLE AS $$ SELECT split_part(t, ' ', 1), split_part(t, ' ', 2) $$; "
        "CREATE CAST (text AS app_public.name_pair) WITH FUNCTION app_public.name_pair_of(text); "
        "CREATE TYPE app_public.user_ref AS (id integer); "
        "CREATE FUNCTION app_public.user_ref_of(i integer) RETURNS app_public.user_ref "
        "LANGUAGE sql IMMUTABLE SECURITY DEFINER SET search_path = pg_catalog AS "
        "$$ SELECT ROW(i)::app_public.user_ref $$; "
        "CREATE CAST (integer AS app_public.user_ref) WITH FUNCTION "
        "app_public.user_ref_of(integer); "
        "RESET ROLE;");
    auto vouched = plan_for(
        "UPDATE app_public.app_user SET given_name = (family_name::app_public.name_pair).given "
        "WHERE id = 5;",
        {1});
    auto report = build_preflight(db.target(), vouched);
    EXPECT_TRUE(refusals(report).empty()) << preflight_to_json(report).dump(2);
    const auto* f = function(report, "app_public.name_pair_of(t text)");
    ASSERT_NE(f, nullptr) << preflight_to_json(report).dump(2);
    EXPECT_TRUE(f->vouched);
    EXPECT_EQ(f->called_by,
              std::vector<std::string>{"cast text AS app_public.name_pair in statement 1"});

    expect_refused(db, db.target(),
                   plan_for("UPDATE app_public.app_user SET given_name = given_name "
                            "WHERE id = 5 AND (id::app_public.user_ref).id = 5;",
                            {1}),
                   "cast integer AS app_public.user_ref in statement 1 calls "
                   "app_public.user_ref_of(i integer), which datafix cannot vouch for: it is "
                   "SECURITY DEFINER",
                   "vouch_security_definer");
}

TEST(ReachedFunctions, ADomainsChecksAreFollowedThroughACastAndAColumn) {
    TestDatabase db(dev());
    db.psql(std::string(kDynamicHelpers) +
            "SET ROLE app_owner; "
            "CREATE DOMAIN app_public.short_text AS text CONSTRAINT fits_check "
            "CHECK (app_public.fits(VALUE)); "
            "RESET ROLE;");
    expect_refused(db, db.target(),
                   plan_for("UPDATE app_public.app_user "
                            "SET given_name = given_name::app_public.short_text WHERE id = 5;",
                            {1}),
                   "check fits_check of domain app_public.short_text (cast to "
                   "app_public.short_text in statement 1) calls app_public.fits(t text), which "
                   "datafix cannot vouch for: it runs dynamic SQL");

    db.psql(
        "SET ROLE app_owner; ALTER TABLE app_public.status_type "
        "ADD COLUMN code app_public.short_text; RESET ROLE;");
    expect_refused(db, db.target(),
                   plan_for("INSERT INTO app_public.status_type (name, description) "
                            "VALUES ('on_hold', 'paused');",
                            {1}),
                   "check fits_check of domain app_public.short_text (column "
                   "app_public.status_type.code) calls app_public.fits(t text), which datafix "
                   "cannot vouch for: it runs dynamic SQL");
}

TEST(ReachedFunctions, CheckConstraintsAndGeneratedColumnsOfWrittenTablesAreFollowed) {
    TestDatabase db(dev());
    db.psql(std::string(kDynamicHelpers) +
            "SET ROLE app_owner; "
            "ALTER TABLE app_public.intake ADD CONSTRAINT intake_fits "
            "CHECK (app_public.fits(intake_number::text)); "
            "CREATE FUNCTION app_public.xact_tag(i integer) RETURNS text LANGUAGE plpgsql "
            "IMMUTABLE AS $$ BEGIN RETURN i::text || pg_catalog.pg_current_xact_id()::text; "
            "END $$; "
            "ALTER TABLE app_public.status_type ADD COLUMN tag text "
            "GENERATED ALWAYS AS (app_public.xact_tag(length(name))) STORED; "
            "RESET ROLE;");
    expect_refused(db, db.target(),
                   plan_for("UPDATE app_public.intake SET close_timestamp = close_timestamp "
                            "WHERE id = 1;",
                            {1}),
                   "check constraint intake_fits on app_public.intake calls "
                   "app_public.fits(t text), which datafix cannot vouch for: it runs dynamic SQL");
    expect_refused(db, db.target(),
                   plan_for("UPDATE app_public.status_type SET description = description "
                            "WHERE name = 'draft';",
                            {1}),
                   "generated column app_public.status_type.tag calls app_public.xact_tag(i "
                   "integer), which datafix cannot vouch for: it calls "
                   "pg_catalog.pg_current_xact_id(), which is not one of the data functions");

    // A DELETE evaluates neither: nothing to refuse.
    auto report = build_preflight(
        db.target(), plan_for("DELETE FROM app_public.status_type WHERE name = 'approved';", {1}));
    EXPECT_TRUE(refusals(report).empty()) << preflight_to_json(report).dump(2);
}

TEST(ReachedFunctions, ADefaultsFunctionIsVouchedForAndWhatItWritesJoinsTheClosure) {
    TestDatabase db(dev());
    // Notes every new status type in the audit log; runs as its owner.
    db.psql(
        "SET ROLE app_owner; "
        "CREATE FUNCTION app_public.noted_now() RETURNS timestamptz LANGUAGE plpgsql "
        "SECURITY DEFINER SET search_path = pg_catalog, app_public AS $$ BEGIN "
        "INSERT INTO record_version (op, table_name) VALUES ('NOTE', 'status_type'); "
        "RETURN now(); END $$; "
        "ALTER TABLE app_public.status_type ADD COLUMN noted_at timestamptz "
        "DEFAULT app_public.noted_now(); "
        "RESET ROLE;");
    auto plan = plan_for(
        "INSERT INTO app_public.status_type (name, description) VALUES ('on_hold', 'paused');",
        {1});
    expect_refused(db, db.target(), plan,
                   "default of column app_public.status_type.noted_at calls "
                   "app_public.noted_now(), which datafix cannot vouch for: it is SECURITY "
                   "DEFINER",
                   "vouch_security_definer = [\"app_public.noted_now\"]");

    auto target = db.target();
    target.vouch_security_definer.push_back("app_public.noted_now");
    auto report = build_preflight(target, plan);
    EXPECT_TRUE(refusals(report).empty()) << preflight_to_json(report).dump(2);
    const auto* log = table(report, "app_public.record_version");
    ASSERT_NE(log, nullptr) << preflight_to_json(report).dump(2);
    EXPECT_TRUE(std::find(log->reached_by.begin(), log->reached_by.end(),
                          "default of column app_public.status_type.noted_at") !=
                log->reached_by.end())
        << preflight_to_json(report).dump(2);

    TempImages images;
    auto session = Session::open(target);
    auto evidence = session.preview(plan, images.store);
    EXPECT_EQ(evidence.statements.at(0).actual_rows, 1);
}

TEST(ReachedFunctions, TriggerFunctionsOfTheClosureAreVouchedFor) {
    TestDatabase db(dev());
    // The sample schema's SECURITY DEFINER trigger: refused until the environment names it.
    auto plan = plan_for(
        "INSERT INTO app_public.application_status (application_id, status) "
        "VALUES (3, 'received');",
        {1});
    auto target = db.target();
    target.vouch_security_definer.clear();
    expect_refused(db, target, plan,
                   "trigger _300_queue_for_review on app_public.application_status runs "
                   "app_private.queue_for_review(), which datafix cannot vouch for: it is "
                   "SECURITY DEFINER: it runs with the privileges of its owner app_internal",
                   "vouch_security_definer = [\"app_private.queue_for_review\"]");
    target.vouch_security_definer.push_back("app_private.queue_for_review");
    auto vouched = build_preflight(target, plan);
    EXPECT_TRUE(refusals(vouched).empty()) << preflight_to_json(vouched).dump(2);
    EXPECT_EQ(function(vouched, "app_private.queue_for_review()"), nullptr)
        << "a vouched trigger function is not listed as a function the change calls";

    // A trigger that reads a server file, on a table the closure reaches (the audit log the
    // sample's audit trigger fills), and one that turns row security off.
    db.psql(
        "SET ROLE app_owner; "
        "CREATE FUNCTION app_public.peek_file() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "PERFORM pg_catalog.pg_read_file('postgresql.conf'); RETURN NEW; END $$; "
        "CREATE TRIGGER _400_peek BEFORE INSERT ON app_public.record_version "
        "FOR EACH ROW EXECUTE FUNCTION app_public.peek_file(); "
        "CREATE FUNCTION app_public.unguarded() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "PERFORM set_config('row_security', 'off', true); RETURN NEW; END $$; "
        "CREATE TRIGGER _400_unguarded BEFORE UPDATE ON app_public.intake "
        "FOR EACH ROW EXECUTE FUNCTION app_public.unguarded(); "
        "RESET ROLE;");
    expect_refused(db, db.target(),
                   plan_for("UPDATE app_public.app_user SET given_name = given_name "
                            "WHERE id = 5;",
                            {1}),
                   "trigger _400_peek on app_public.record_version runs "
                   "app_public.peek_file(), which datafix cannot vouch for: it calls "
                   "pg_catalog.pg_read_file(), which is not one of the data functions a change "
                   "may call");
    auto intake = build_preflight(
        db.target(),
        plan_for("UPDATE app_public.intake SET close_timestamp = close_timestamp WHERE id = 1;",
                 {1}));
    bool unguarded = false;
    for (const auto* f : refusals(intake)) {
        unguarded = unguarded || has(f->message,
                                     "trigger _400_unguarded on app_public.intake runs "
                                     "app_public.unguarded(), which datafix cannot vouch for: "
                                     "it changes row_security while it runs");
    }
    EXPECT_TRUE(unguarded) << preflight_to_json(intake).dump(2);
}

TEST(ReachedFunctions, ATriggersDynamicSqlStillWidensTheClosureInsteadOfRefusing) {
    TestDatabase db(dev());
    db.psql(
        "SET ROLE app_owner; "
        "CREATE FUNCTION app_public.note_any() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "EXECUTE format('UPDATE app_public.%I SET updated_at = now() WHERE false', "
        "TG_TABLE_NAME); RETURN NULL; END $$; "
        "CREATE TRIGGER _600_note AFTER UPDATE ON app_public.intake "
        "FOR EACH ROW EXECUTE FUNCTION app_public.note_any(); "
        "RESET ROLE;");
    auto report = build_preflight(
        db.target(),
        plan_for("UPDATE app_public.intake SET close_timestamp = close_timestamp WHERE id = 1;",
                 {1}));
    EXPECT_TRUE(refusals(report).empty()) << preflight_to_json(report).dump(2);
    EXPECT_FALSE(report.unknown_writes.empty());
    EXPECT_NE(table(report, "app_public.form_change"), nullptr)
        << "every application table is in the closure";
}

TEST(ReachedFunctions, SqlStandardBodiesAreReadAndVouchedFor) {
    TestDatabase db(dev());
    // The sample schema's RETURN-bodied helper, in a change and in a verify query.
    auto plan = plan_for(
        "UPDATE app_public.app_user "
        "SET given_name = app_public.display_name(given_name, family_name) WHERE id = 5;",
        {1},
        "SELECT app_public.display_name(given_name, family_name) FROM app_public.app_user "
        "WHERE id = 5;");
    auto report = build_preflight(db.target(), plan);
    EXPECT_TRUE(refusals(report).empty()) << preflight_to_json(report).dump(2);
    const auto* f = function(report, "app_public.display_name(given text, family text)");
    ASSERT_NE(f, nullptr) << preflight_to_json(report).dump(2);
    EXPECT_TRUE(f->vouched) << f->refusal;
    EXPECT_EQ(f->language, "sql");

    db.psql(
        "SET ROLE app_owner; "
        "CREATE FUNCTION app_public.log_note(i integer) RETURNS integer LANGUAGE sql "
        "BEGIN ATOMIC INSERT INTO app_public.record_version (op, table_name) "
        "VALUES ('NOTE', 'app_user'); SELECT i; END; "
        "CREATE FUNCTION app_public.is_table(t text) RETURNS boolean LANGUAGE sql STABLE "
        "RETURN to_regclass(t) IS NOT NULL; "
        "RESET ROLE;");
    auto writes = build_preflight(db.target(),
                                  plan_for("UPDATE app_public.app_user SET given_name = given_name "
                                           "WHERE id = app_public.log_note(5);",
                                           {1}));
    EXPECT_TRUE(refusals(writes).empty()) << preflight_to_json(writes).dump(2);
    const auto* log_note = function(writes, "app_public.log_note(i integer)");
    ASSERT_NE(log_note, nullptr);
    ASSERT_EQ(log_note->write_commands.size(), 1u);
    EXPECT_EQ(log_note->write_commands[0].table, "app_public.record_version");
    const auto* log = table(writes, "app_public.record_version");
    ASSERT_NE(log, nullptr);
    EXPECT_TRUE(std::find(log->reached_by.begin(), log->reached_by.end(),
                          "function app_public.log_note(i integer) called by statement 1") !=
                log->reached_by.end())
        << preflight_to_json(writes).dump(2);

    expect_refused(db, db.target(),
                   plan_for("UPDATE app_public.app_user SET given_name = given_name "
                            "WHERE id = 5 AND app_public.is_table(given_name);",
                            {1}),
                   "statement 1 calls app_public.is_table(t text), which datafix cannot vouch "
                   "for: it calls pg_catalog.to_regclass(), which is not one of the data "
                   "functions a change may call");
}

}  // namespace
}  // namespace datafix::targetdb::test
