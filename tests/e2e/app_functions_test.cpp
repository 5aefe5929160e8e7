// The application's own functions through the real server, on the sample schema: a change that
// calls app_public.record_form_change (plpgsql, writes app_public.form_change) is previewed,
// approved and applied, and the evidence holds the images of form_change, reached through the
// function; a change that calls app_public.touch_row (EXECUTE) is refused at preview with the
// function named and its HINT, by `datafix preflight` as a blocker, and nothing changes. Functions
// reached without a call follow the same policy: the sample's operator === and its RETURN-bodied
// display_name pass and are applied; an operator whose function runs EXECUTE, and a trigger on the
// audit log (a table of the write closure) that reads a server file, are refused at preview with
// the operator or trigger named, and nothing changes.
#include <gtest/gtest.h>

#include "runbook_steps.hpp"

namespace datafix::e2e {

namespace {

// The literal `flagged-by-function-test` must never appear in a report or an error.
const char* kRecordFormChange =
    "UPDATE app_public.application SET form_data = app_public.record_form_change(id, "
    "form_data || '{\"note\": \"flagged-by-function-test\"}') WHERE id = 7;\n";

const char* kTouchRow =
    "UPDATE app_public.application SET archived_at = now() "
    "WHERE id = 7 AND app_public.touch_row('flagged-by-function-test', intake_id) > 0;\n";

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

class AppFunctions : public ::testing::Test {
  protected:
    ServerFixture s;
    Team t = make_team(s);

    std::string rows() {
        return s.psql(
                   "dev",
                   "SELECT md5(string_agg(a::text, ',' ORDER BY id)) FROM app_public.application "
                   "a") +
               s.psql("dev", "SELECT count(*) FROM app_public.form_change") +
               s.psql("dev", "SELECT count(*) FROM app_public.record_version");
    }
};

}  // namespace

TEST_F(AppFunctions, WhatAFunctionWritesIsInTheEvidenceAndIsApplied) {
    long long n = file_request(s, t);
    prepare(s, t, n, kRecordFormChange);
    const std::string logged = s.psql("dev", "SELECT count(*) FROM app_public.form_change");

    auto report = s.cli(t.dana, {"preflight", std::to_string(n), "dev", "--output", "json"});
    ASSERT_EQ(report.status, 0) << report.out << report.err;
    auto json = nlohmann::json::parse(report.out);
    ASSERT_EQ(json["functions"].size(), 1u) << json.dump(2);
    EXPECT_EQ(json["functions"][0]["vouched"], true) << json.dump(2);
    EXPECT_EQ(json["functions"][0]["writes"][0]["table"], "app_public.form_change");

    promote(s, t, n, "dev");
    EXPECT_EQ(std::stoll(s.psql("dev", "SELECT count(*) FROM app_public.form_change")),
              std::stoll(logged) + 1)
        << "the function ran at apply";

    nlohmann::json st = state_of(s, t.dana, n);
    int preview_run = 0;
    int apply_run = 0;
    for (const auto& run : st["runs"]) {
        (run["kind"] == "preview" ? preview_run : apply_run) = run["number"];
    }
    ASSERT_GT(preview_run, 0) << st.dump(2);
    ASSERT_GT(apply_run, 0) << st.dump(2);
    Answer images = s.get(t.sam, req(n, "/runs/" + std::to_string(preview_run) + "/images"));
    ASSERT_EQ(images.status, 200) << images.body.dump();
    const nlohmann::json* form_change = nullptr;
    for (const auto& c : images.body["closure"]) {
        if (c["table"] == "app_public.form_change") {
            form_change = &c;
        }
    }
    ASSERT_NE(form_change, nullptr) << images.body["closure"].dump(2);
    EXPECT_EQ((*form_change)["before"].size(), 0u);
    ASSERT_EQ((*form_change)["after"].size(), 1u) << "the row the function inserted";
    EXPECT_TRUE(has((*form_change)["causes"].dump(),
                    "function app_public.record_form_change(application_id integer, form_data "
                    "jsonb) called by statement 1"))
        << (*form_change)["causes"].dump();

    Answer applied = s.get(t.sam, req(n, "/runs/" + std::to_string(apply_run)));
    ASSERT_EQ(applied.status, 200);
    bool counted = false;
    for (const auto& c : applied.body["evidence"]["closure"]) {
        counted = counted || (c["table"] == "app_public.form_change" && c["inserted"] == 1);
    }
    EXPECT_TRUE(counted) << applied.body["evidence"].dump(2);
}

TEST_F(AppFunctions, DynamicSqlIsRefusedAtPreviewAndNothingChanges) {
    long long n = file_request(s, t);
    prepare(s, t, n, kTouchRow);
    const std::string before = rows();

    auto report = s.cli(t.dana, {"preflight", std::to_string(n), "dev"});
    EXPECT_EQ(report.status, 6) << report.out << report.err;
    EXPECT_TRUE(has(report.out, "app_public.touch_row(table_name text, row_id integer)"))
        << report.out;
    EXPECT_TRUE(has(report.out, "runs dynamic SQL (EXECUTE)")) << report.out;
    EXPECT_FALSE(has(report.out, "flagged-by-function-test")) << report.out;

    Answer p = s.post(t.dana, env_path(n, "dev", "preview"), {});
    EXPECT_EQ(p.status, 409) << p.body.dump();
    EXPECT_EQ(p.body.value("error", ""), "refused") << p.body.dump();
    const std::string message = p.body.value("message", "");
    EXPECT_TRUE(has(message,
                    "dev: pre-flight refused the change: statement 1 calls "
                    "app_public.touch_row(table_name text, row_id integer), which "
                    "datafix cannot vouch for: it runs dynamic SQL (EXECUTE)"))
        << message;
    EXPECT_TRUE(has(p.body.value("hint", ""), "replace EXECUTE")) << p.body.dump();
    EXPECT_FALSE(has(p.body.dump(), "flagged-by-function-test")) << p.body.dump();
    EXPECT_EQ(rows(), before) << "nothing changed";

    auto cli = s.cli(t.dana, {"preview", std::to_string(n), "dev"});
    EXPECT_NE(cli.status, 0) << cli.out << cli.err;
    EXPECT_TRUE(has(cli.err, "runs dynamic SQL (EXECUTE)")) << cli.err;
    EXPECT_TRUE(has(cli.err, "HINT: ")) << cli.err;
    EXPECT_EQ(rows(), before);

    // No preview succeeded, so there is no evidence to approve and nothing to apply.
    nlohmann::json st = state_of(s, t.sam, n);
    ASSERT_FALSE(st["runs"].empty());
    for (const auto& run : st["runs"]) {
        EXPECT_EQ(run["state"], "failed") << st.dump(2);
    }
}

TEST_F(AppFunctions, OperatorsAndTriggersAreVouchedForLikeCalls) {
    // Vouched: an application operator and a function with a SQL-standard body.
    long long vouched = file_request(s, t);
    prepare(s, t, vouched,
            "UPDATE app_public.app_user SET given_name = app_public.display_name(given_name, "
            "'Okafor') WHERE id OPERATOR(app_public.===) 3;\n");
    promote(s, t, vouched, "dev");
    EXPECT_EQ(std::stoll(s.psql("dev",
                                "SELECT count(*) FROM app_public.app_user "
                                "WHERE id = 3 AND given_name LIKE '% Okafor'")),
              1)
        << "applied";

    // An operator whose function runs dynamic SQL.
    s.psql("dev",
           "SET ROLE app_owner; "
           "CREATE FUNCTION app_public.peek(a integer, b integer) RETURNS boolean "
           "LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN EXECUTE 'SELECT 1'; RETURN a = b; END $$; "
           "CREATE OPERATOR app_public.=~= (LEFTARG = integer, RIGHTARG = integer, "
           "FUNCTION = app_public.peek); RESET ROLE;");
    long long by_operator = file_request(s, t);
    prepare(s, t, by_operator,
            "UPDATE app_public.application SET form_data = form_data || "
            "'{\"note\": \"flagged-by-function-test\"}' WHERE id OPERATOR(app_public.=~=) 7;\n");
    const std::string before = rows();
    auto report = s.cli(t.dana, {"preflight", std::to_string(by_operator), "dev"});
    EXPECT_EQ(report.status, 6) << report.out << report.err;
    EXPECT_TRUE(has(report.out,
                    "operator app_public.=~=(integer, integer) in statement 1 calls "
                    "app_public.peek(a integer, b integer)"))
        << report.out;
    EXPECT_FALSE(has(report.out, "flagged-by-function-test")) << report.out;
    Answer p = s.post(t.dana, env_path(by_operator, "dev", "preview"), {});
    EXPECT_EQ(p.status, 409) << p.body.dump();
    EXPECT_EQ(p.body.value("error", ""), "refused") << p.body.dump();
    EXPECT_TRUE(has(p.body.value("message", ""),
                    "dev: pre-flight refused the change: operator app_public.=~=(integer, "
                    "integer) in statement 1 calls app_public.peek(a integer, b integer), which "
                    "datafix cannot vouch for: it runs dynamic SQL (EXECUTE)"))
        << p.body.dump();
    EXPECT_TRUE(has(p.body.value("hint", ""), "replace EXECUTE")) << p.body.dump();
    EXPECT_FALSE(has(p.body.dump(), "flagged-by-function-test")) << p.body.dump();
    EXPECT_EQ(rows(), before) << "nothing changed";

    // A trigger on the audit log, which every audited change writes, that reads a server file.
    s.psql("dev",
           "SET ROLE app_owner; "
           "CREATE FUNCTION app_public.peek_file() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
           "PERFORM pg_catalog.pg_read_file('postgresql.conf'); RETURN NEW; END $$; "
           "CREATE TRIGGER _400_peek BEFORE INSERT ON app_public.record_version "
           "FOR EACH ROW EXECUTE FUNCTION app_public.peek_file(); RESET ROLE;");
    long long by_trigger = file_request(s, t);
    prepare(s, t, by_trigger,
            "UPDATE app_public.application SET form_data = form_data || "
            "'{\"note\": \"flagged-by-function-test\"}' WHERE id = 7;\n");
    auto cli = s.cli(t.dana, {"preview", std::to_string(by_trigger), "dev"});
    EXPECT_NE(cli.status, 0) << cli.out << cli.err;
    EXPECT_TRUE(has(cli.err,
                    "trigger _400_peek on app_public.record_version runs "
                    "app_public.peek_file(), which datafix cannot vouch for: it calls "
                    "pg_catalog.pg_read_file(), which is not one of the data functions"))
        << cli.err;
    EXPECT_TRUE(has(cli.err, "HINT: ")) << cli.err;
    EXPECT_FALSE(has(cli.err, "flagged-by-function-test")) << cli.err;
    EXPECT_EQ(rows(), before) << "nothing changed";
}

}  // namespace datafix::e2e
