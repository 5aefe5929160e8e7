// The pre-flight report through the server and the CLI, on the sample schema: with FORCE ROW
// LEVEL SECURITY and app_owner's policy dropped in dev, `datafix preflight` names the hidden rows
// and exits non-zero, and a preview of the same request fails with the explanation in the API's
// error body (message and HINT, no literal values); nothing changes and the failed preview keeps
// its report, which `datafix show --run` lists.
#include <gtest/gtest.h>

#include "runbook_steps.hpp"

namespace datafix::e2e {

namespace {

// The literal `flagged-by-preflight-test` must never appear in a report or an error.
const char* kUpdateApplication =
    "UPDATE app_public.application SET form_data = form_data || "
    "'{\"note\": \"flagged-by-preflight-test\"}' WHERE id = 7;\n";

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

class Preflight : public ::testing::Test {
  protected:
    ServerFixture s;
    Team t = make_team(s);

    std::string application_7() {
        return s.psql("dev", "SELECT form_data::text FROM app_public.application WHERE id = 7");
    }
};

}  // namespace

TEST_F(Preflight, HiddenRowsAreABlockerAndThePreviewExplainsItsZeroRows) {
    long long n = file_request(s, t);
    prepare(s, t, n, kUpdateApplication);
    s.psql("dev", "DROP POLICY app_owner_all ON app_public.application");
    const std::string before = application_7();

    // Human report: the table's row security and the blocker; exit status of target_refused.
    auto human = s.cli(t.dana, {"preflight", std::to_string(n), "dev"});
    EXPECT_EQ(human.status, 6) << human.out << human.err;
    EXPECT_TRUE(has(human.out, "NO policy lets app_owner UPDATE")) << human.out;
    EXPECT_TRUE(has(human.err, "found 1 blocker")) << human.err;
    EXPECT_FALSE(has(human.out, "flagged-by-preflight-test")) << human.out;

    // JSON for scripts: the same facts, the same exit status.
    auto json = s.cli(t.dana, {"preflight", std::to_string(n), "dev", "--output", "json"});
    EXPECT_EQ(json.status, 6) << json.err;
    auto report = nlohmann::json::parse(json.out);
    EXPECT_EQ(report["ok"], false);
    EXPECT_EQ(report["environment"], "dev");
    EXPECT_EQ(report["role"], "app_owner");
    bool hidden = false;
    for (const auto& f : report["findings"]) {
        hidden = hidden || (f["kind"] == "rows_hidden_by_rls" && f["severity"] == "blocker");
    }
    EXPECT_TRUE(hidden) << report.dump(2);
    EXPECT_FALSE(has(json.out, "flagged-by-preflight-test"));

    // Only the people of the request see it.
    std::string other = s.add_person("Olli Other", "olli@example.com", "developer");
    EXPECT_EQ(s.get(other, env_path(n, "dev", "preflight")).status, 403);

    // The preview meets what the report predicted and says why, without values.
    Answer p = s.post(t.dana, env_path(n, "dev", "preview"), {});
    EXPECT_EQ(p.status, 409) << p.body.dump();
    EXPECT_EQ(p.body.value("error", ""), "count_mismatch");
    const std::string message = p.body.value("message", "");
    EXPECT_TRUE(has(message, "0 rows")) << message;
    EXPECT_TRUE(has(message, "FORCE ROW LEVEL SECURITY and no policy lets role app_owner UPDATE"))
        << message;
    EXPECT_TRUE(has(p.body.value("hint", ""), "TO app_owner")) << p.body.dump();
    EXPECT_FALSE(has(p.body.dump(), "flagged-by-preflight-test")) << p.body.dump();
    EXPECT_EQ(application_7(), before) << "nothing changed";

    // The CLI prints the same explanation with its HINT.
    auto cli = s.cli(t.dana, {"preview", std::to_string(n), "dev"});
    EXPECT_EQ(cli.status, 7) << cli.out << cli.err;
    EXPECT_TRUE(has(cli.err, "no policy lets role app_owner UPDATE")) << cli.err;
    EXPECT_TRUE(has(cli.err, "HINT: ")) << cli.err;
    EXPECT_EQ(application_7(), before);

    // The failed preview kept its report: `datafix show --run` lists the blocker.
    nlohmann::json st = state_of(s, t.dana, n);
    ASSERT_FALSE(st["runs"].empty());
    int run = st["runs"][0]["number"];
    auto show = s.cli(t.dana, {"show", std::to_string(n), "--run", std::to_string(run)});
    EXPECT_EQ(show.status, 0) << show.err;
    EXPECT_TRUE(has(show.out, "pre-flight on dev")) << show.out;
    EXPECT_TRUE(has(show.out, "blocker")) << show.out;
    EXPECT_FALSE(has(show.out, "flagged-by-preflight-test")) << show.out;
}

TEST_F(Preflight, AHealthyEnvironmentHasNoBlockersAndThePreviewCarriesItsReport) {
    long long n = file_request(s, t);
    prepare(s, t, n);
    auto cli = s.cli(t.dana, {"preflight", std::to_string(n), "dev"});
    EXPECT_EQ(cli.status, 0) << cli.out << cli.err;
    EXPECT_TRUE(has(cli.out, "app_public.app_user")) << cli.out;

    Answer p = s.post(t.dana, env_path(n, "dev", "preview"), {});
    ASSERT_EQ(p.status, 200) << p.body.dump();
    EXPECT_EQ(p.body["preflight"]["ok"], true) << p.body.dump();
    Answer r = s.get(t.po, req(n, "/runs/" + std::to_string(p.body["run"].get<int>())));
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.body["preflight"]["environment"], "dev") << r.body.dump();
}

}  // namespace datafix::e2e
