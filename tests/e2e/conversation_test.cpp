// The request's conversation through a real server on real clusters: the pair sends the request
// back to its driver with `datafix request-changes`, the pending approval is voided and apply is
// refused until the driver previews again; comments and the reason are for the request's people
// (the timeline), never in the audit trail, the log or another person's view. The summary of a
// run's images names rows by the configured display key.
#include <gtest/gtest.h>

#include "e2e/runbook_steps.hpp"

namespace datafix::e2e {

namespace {

ServerOptions with_display_key() {
    ServerOptions options;
    options.environment_extra["dev"] =
        "display_keys = { \"app_public.app_user\" = \"email_address\" }";
    return options;
}

int valid_evidence_approvals(const nlohmann::json& state, const std::string& env) {
    int n = 0;
    for (const auto& a : state["approvals"]) {
        n += (a["kind"] == "evidence" && a["environment"] == env && !a["voided"].get<bool>()) ? 1
                                                                                              : 0;
    }
    return n;
}

}  // namespace

TEST(Conversation, RequestChangesReturnsTheRequestToTheDriver) {
    ServerFixture s(with_display_key());
    Team t = make_team(s);
    const std::string outsider = s.add_person("Olu Outsider", "olu@example.com", "developer");
    const std::string secret = "REASON" + std::to_string(::getpid()) + "Q";
    long long n = file_request(s, t);
    prepare(s, t, n);
    ASSERT_EQ(s.post(t.dana, env_path(n, "dev", "preview"), {}).status, 200);
    nlohmann::json st = state_of(s, t.sam, n);
    const std::string first = fingerprint(st, "dev");
    ASSERT_EQ(s.post(t.sam, env_path(n, "dev", "approve"),
                     {{"revision_hash", revision_hash(st)}, {"fingerprint", first}})
                  .status,
              200);
    ASSERT_EQ(valid_evidence_approvals(state_of(s, t.sam, n), "dev"), 1);

    // The run's summary, in words, names the row by its display key.
    int preview_run = st["progress"]["environments"][0]["preview_run"];
    Answer images = s.get(t.po, req(n, "/runs/" + std::to_string(preview_run) + "/images"));
    ASSERT_EQ(images.status, 200);
    ASSERT_FALSE(images.body["summary"]["sentences"].empty()) << images.body["summary"].dump();
    EXPECT_EQ(images.body["summary"]["sentences"][0]["text"],
              "app_user: family_name Dunmore → Renamed on 1 row (applicant3@example.com)");
    EXPECT_EQ(s.get(outsider, req(n, "/runs/" + std::to_string(preview_run) + "/images")).status,
              403);

    // The driver cannot send their own change back; the pair can, from the command line.
    auto own = s.cli(t.dana, {"request-changes", std::to_string(n), "--reason", secret});
    EXPECT_NE(own.status, 0);
    EXPECT_NE(own.err.find("only the pair or the requesting product owner asks for changes"),
              std::string::npos)
        << own.err;
    auto back = s.cli(t.sam, {"request-changes", std::to_string(n), "--reason", secret});
    ASSERT_EQ(back.status, 0) << back.out << back.err;
    EXPECT_NE(back.out.find("back with its driver"), std::string::npos) << back.out;

    st = state_of(s, t.dana, n);
    EXPECT_EQ(valid_evidence_approvals(st, "dev"), 0) << "the pending approval is voided";
    ASSERT_TRUE(st["changes_requested"].is_object()) << st.dump();
    EXPECT_EQ(st["changes_requested"]["by"]["email"], "sam@example.com");

    // Nothing moves until the driver answers: no apply, no new approval of the old evidence.
    Answer apply = s.post(t.dana, env_path(n, "dev", "apply"), {{"fingerprint", first}});
    EXPECT_EQ(apply.status, 409) << apply.body.dump();
    EXPECT_EQ(apply.body["rule"], "evidence-not-approved");
    Answer again = s.post(t.sam, env_path(n, "dev", "approve"),
                          {{"revision_hash", revision_hash(st)}, {"fingerprint", first}});
    EXPECT_EQ(again.status, 409) << again.body.dump();
    EXPECT_EQ(again.body["rule"], "changes-requested");
    EXPECT_NE(again.body["hint"].get<std::string>().find("datafix preview " + std::to_string(n)),
              std::string::npos)
        << again.body.dump();

    // The conversation: the driver answers; an outsider may neither write nor read it.
    auto comment =
        s.cli(t.dana, {"comment", std::to_string(n), "--text", "fixed the WHERE, " + secret});
    ASSERT_EQ(comment.status, 0) << comment.err;
    EXPECT_EQ(s.post(outsider, req(n, "/comments"), {{"text", "hello"}}).status, 403);
    EXPECT_EQ(s.get(outsider, req(n, "/timeline")).status, 403);
    Answer timeline = s.get(t.po, req(n, "/timeline"));
    ASSERT_EQ(timeline.status, 200);
    ASSERT_EQ(timeline.body["comments"].size(), 2u);
    EXPECT_EQ(timeline.body["comments"][0]["kind"], "changes_requested");
    EXPECT_EQ(timeline.body["comments"][0]["text"], secret);
    EXPECT_EQ(timeline.body["comments"][0]["author"]["email"], "sam@example.com");
    bool listed = false;
    for (const auto& e : timeline.body["entries"]) {
        listed = listed || e["action"] == "changes.requested";
    }
    EXPECT_TRUE(listed) << timeline.body["entries"].dump();
    auto read = s.cli(t.po, {"comment", std::to_string(n)});
    ASSERT_EQ(read.status, 0) << read.err;
    EXPECT_NE(read.out.find("requested changes"), std::string::npos) << read.out;
    EXPECT_NE(read.out.find(secret), std::string::npos) << read.out;

    // The driver previews again: the pair approves that, and the apply goes through.
    ASSERT_EQ(s.post(t.dana, env_path(n, "dev", "preview"), {}).status, 200);
    st = state_of(s, t.sam, n);
    EXPECT_TRUE(st["changes_requested"].is_null());
    ASSERT_EQ(
        s.post(t.sam, env_path(n, "dev", "approve"),
               {{"revision_hash", revision_hash(st)}, {"fingerprint", fingerprint(st, "dev")}})
            .status,
        200);
    EXPECT_EQ(s.post(t.dana, env_path(n, "dev", "apply"), {{"fingerprint", fingerprint(st, "dev")}})
                  .status,
              200);

    // The text stays with the request's people: not in others' views, the audit trail or the log.
    EXPECT_EQ(s.get(outsider, req(n)).body.dump().find(secret), std::string::npos);
    EXPECT_EQ(s.get(t.po, "/api/audit?request=" + std::to_string(n)).body.dump().find(secret),
              std::string::npos);
    EXPECT_EQ(s.server_log().find(secret), std::string::npos);
    EXPECT_EQ(s.server_log().find("applicant3@example.com"), std::string::npos);
}

}  // namespace datafix::e2e
