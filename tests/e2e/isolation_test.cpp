// What a hostile or unlucky input cannot do to the real server: a guard that crashes on a change
// refuses that change and the server keeps answering; a trigger's RAISE that quotes a row value
// reaches neither the API nor the server's log, which name the SQLSTATE and the function instead.
#include <gtest/gtest.h>
#include <unistd.h>

#include "runbook_steps.hpp"

namespace datafix::e2e {

TEST(GuardIsolation, ACrashingGuardRefusesTheChangeAndTheServerKeepsAnswering) {
    ServerOptions options;
    // The worker that analyses uploaded SQL dies at this point, as on a parser crash.
    options.server_env = {{"DATAFIX_FAULT", "guard.worker"}};
    ServerFixture s(options);
    Team t = make_team(s);
    long long n = file_request(s, t);
    ASSERT_EQ(s.post(t.dana, req(n, "/claim"), {}).status, 200);
    ASSERT_EQ(s.post(t.sam, req(n, "/pair"), {}).status, 200);

    Answer a = s.post(t.dana, req(n, "/revisions"),
                      {{"change_sql", kChange}, {"verify_sql", kVerify}, {"expected", {1}}});
    EXPECT_EQ(a.status, 409) << a.body.dump();
    EXPECT_EQ(a.body["error"], "refused") << a.body.dump();
    const std::string message = a.body.value("message", "");
    EXPECT_NE(
        message.find("the guard could not analyse change.sql: the analysis crashed (SIGKILL)"),
        std::string::npos)
        << message;
    EXPECT_FALSE(a.body.value("hint", "").empty());

    // Still serving, and the refused change did not become a revision.
    Answer state = s.get(t.po, req(n));
    ASSERT_EQ(state.status, 200);
    EXPECT_EQ(state.body["revisions"], 0) << state.body.dump();
    EXPECT_EQ(s.get(t.po, "/api/requests").status, 200);

    // Without the fault the same change is accepted: the refusal came from the crash.
    s.restart({{"DATAFIX_FAULT", ""}});
    Answer again = s.post(t.dana, req(n, "/revisions"),
                          {{"change_sql", kChange}, {"verify_sql", kVerify}, {"expected", {1}}});
    EXPECT_EQ(again.status, 200) << again.body.dump();
}

TEST(GuardIsolation, TheGuardsOwnRefusalsStillComeThroughTheWorker) {
    ServerFixture s;
    Team t = make_team(s);
    long long n = file_request(s, t);
    ASSERT_EQ(s.post(t.dana, req(n, "/claim"), {}).status, 200);
    ASSERT_EQ(s.post(t.sam, req(n, "/pair"), {}).status, 200);
    Answer no_where =
        s.post(t.dana, req(n, "/revisions"),
               {{"change_sql", "DELETE FROM app_public.app_user;\n"}, {"expected", {1}}});
    EXPECT_EQ(no_where.status, 409) << no_where.body.dump();
    EXPECT_EQ(no_where.body["error"], "refused");
    EXPECT_TRUE(no_where.body.contains("details")) << no_where.body.dump();
    Answer syntax =
        s.post(t.dana, req(n, "/revisions"),
               {{"change_sql", "UPDATE app_public.app_user SET WHERE;\n"}, {"expected", {1}}});
    EXPECT_EQ(syntax.status, 400) << syntax.body.dump();
    EXPECT_EQ(syntax.body["error"], "invalid_input");
    EXPECT_NE(syntax.body.value("message", "").find("change.sql:1:"), std::string::npos)
        << syntax.body.dump();
}

TEST(DatabaseErrors, ATriggersRaiseQuotingARowValueLeavesNoTrace) {
    ServerFixture s;
    Team t = make_team(s);
    const std::string canary =
        "CANARY" + std::to_string(::getpid()) + "R" +
        std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
    // The application's own data holds the value; the change never mentions it.
    s.psql("dev", "UPDATE app_public.app_user SET given_name = '" + canary + "' WHERE id = 3");
    s.psql("dev",
           "CREATE FUNCTION app_public.refuse_by_name() RETURNS trigger LANGUAGE plpgsql AS $fn$ "
           "BEGIN RAISE EXCEPTION 'the row of % may not change', OLD.given_name; END $fn$;"
           "CREATE TRIGGER _010_refuse_by_name BEFORE UPDATE ON app_public.app_user "
           "FOR EACH ROW EXECUTE FUNCTION app_public.refuse_by_name();");
    long long n = file_request(s, t);
    prepare(s, t, n);
    Answer p = s.post(t.dana, env_path(n, "dev", "preview"), {});
    ASSERT_NE(p.status, 200) << p.body.dump();
    EXPECT_EQ(p.body["error"], "database") << p.body.dump();
    const std::string body = p.body.dump();
    EXPECT_EQ(body.find(canary), std::string::npos) << body;
    EXPECT_EQ(body.find("may not change"), std::string::npos) << body;
    EXPECT_NE(body.find("SQLSTATE P0001"), std::string::npos) << body;
    EXPECT_NE(body.find("raise_exception"), std::string::npos) << body;
    EXPECT_NE(body.find("refuse_by_name()"), std::string::npos) << body;

    // The run's stored failure, shown to the people of the request, is the same reduced text.
    const std::string run = s.get(t.dana, req(n, "/runs/1")).body.dump();
    EXPECT_EQ(run.find(canary), std::string::npos) << run;

    const std::string log = s.server_log();
    EXPECT_EQ(log.find(canary), std::string::npos);
    EXPECT_NE(log.find("SQLSTATE P0001"), std::string::npos) << log;
    EXPECT_NE(log.find("refuse_by_name"), std::string::npos) << log;
    s.stop();
    EXPECT_EQ(read_file(s.dir() + "/server.err").find(canary), std::string::npos);
    EXPECT_EQ(read_file(s.dir() + "/server.out").find(canary), std::string::npos);
}

}  // namespace datafix::e2e
