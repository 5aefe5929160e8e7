// Live mode through a real server on the dev cluster: the driver runs the change once and its
// transaction stays open; the pair's approval commits it exactly once, the driver alone cannot;
// a cancel and the end of the window roll it back; a change over the row limit changes nothing;
// a server killed while the transaction is open leaves the rows as they were and its ledger says
// rolled back after the restart; a live INSERT draws no sequence value beyond its rows.
#include <gtest/gtest.h>

#include <memory>

#include "crash_steps.hpp"

namespace datafix::e2e {
namespace {

ServerOptions live_dev(const std::string& window, long long max_rows) {
    ServerOptions o;
    o.environment_extra["dev"] = "live = true\nlive_window = \"" + window +
                                 "\"\nlive_max_rows = " + std::to_string(max_rows) + "\n";
    return o;
}

// A server whose dev environment holds a live transaction open for `window`, over at most
// `max_rows` rows, and Priya's request on it; a test states only what differs.
class Live : public ::testing::Test {
  protected:
    ServerFixture& serve(const std::string& window = "2m", long long max_rows = 100) {
        server_ = std::make_unique<ServerFixture>(live_dev(window, max_rows));
        t = make_team(*server_);
        n = file_request(*server_, t);
        number = std::to_string(n);
        return *server_;
    }
    // ... claimed by Dana, paired by Sam, with the sample change attached; `before` is the row
    // the change renames, as it was.
    ServerFixture& serve_prepared(const std::string& window = "2m", long long max_rows = 100) {
        ServerFixture& s = serve(window, max_rows);
        prepare(s, t, n);
        before = family_name(s);
        return s;
    }

    nlohmann::json dev_progress(const std::string& token) {
        const nlohmann::json state = state_of(*server_, token, n);
        for (const auto& e : state["progress"]["environments"]) {
            if (e["name"] == "dev") {
                return e;
            }
        }
        return nullptr;
    }

    std::string run_state(int run) {
        const nlohmann::json state = state_of(*server_, t.po, n);
        for (const auto& r : state["runs"]) {
            if (r["number"] == run) {
                return r["state"];
            }
        }
        return "missing";
    }

    Answer approve_live(const std::string& token) {
        const nlohmann::json st = state_of(*server_, token, n);
        const nlohmann::json dev = dev_progress(token);
        std::string fp = dev.contains("live") ? dev["live"].value("fingerprint", "") : "";
        return server_->post(token, env_path(n, "dev", "approve"),
                             {{"revision_hash", revision_hash(st)}, {"fingerprint", fp}});
    }

    Team t;
    long long n = 0;
    std::string number;  // n as the command line takes it
    std::string before;

  private:
    std::unique_ptr<ServerFixture> server_;
};

TEST_F(Live, ThePairsApprovalCommitsTheOpenTransactionOnceAndTheDriverCannotAlone) {
    ServerFixture& s = serve_prepared();

    auto started = s.cli(t.dana, {"live", number, "dev"});
    ASSERT_EQ(started.status, 0) << started.out << started.err;
    EXPECT_NE(started.out.find("datafix approve " + number + " dev"), std::string::npos)
        << started.out;
    EXPECT_NE(started.out.find("datafix live " + number + " dev --cancel"), std::string::npos);
    EXPECT_EQ(family_name(s), before) << "open, not committed: other sessions see the old row";

    nlohmann::json dev = dev_progress(t.sam);
    ASSERT_TRUE(dev.contains("live")) << dev.dump();
    EXPECT_FALSE(dev["live"]["deadline"].get<std::string>().empty());
    EXPECT_GT(dev["live"]["seconds_left"].get<long long>(), 0);
    int run = dev["live"]["run"];
    // The images of the open transaction are there for the pair to read.
    Answer images = s.get(t.sam, req(n, "/runs/" + std::to_string(run) + "/images"));
    EXPECT_EQ(images.status, 200) << images.body.dump();

    Answer alone = approve_live(t.dana);
    EXPECT_EQ(alone.status, 409) << alone.body.dump();
    EXPECT_EQ(alone.body["rule"], "no-self-approval");
    EXPECT_EQ(family_name(s), before);
    EXPECT_EQ(run_state(run), "running");

    auto approved = s.cli(t.sam, {"approve", number, "dev"});
    ASSERT_EQ(approved.status, 0) << approved.out << approved.err;
    EXPECT_NE(approved.out.find("committed"), std::string::npos) << approved.out;
    EXPECT_EQ(family_name(s), "Renamed\n");
    EXPECT_EQ(run_state(run), "succeeded");

    Answer again = approve_live(t.sam);
    EXPECT_EQ(again.status, 409) << again.body.dump();
    Answer live_again = s.post(t.dana, env_path(n, "dev", "live"), {});
    EXPECT_EQ(live_again.status, 409) << "dev is applied: " << live_again.body.dump();
    EXPECT_EQ(runs_of(s, t, n, "live").size(), 1u);
    EXPECT_EQ(runs_of(s, t, n, "apply").size(), 0u);
    // Committed, it is dev's apply: reverting it puts the row back.
    expect_audit_intact(s, t);
}

TEST_F(Live, ACancelByThePairRollsBackAndAStartIsRefusedWhereLiveIsOff) {
    ServerFixture& s = serve_prepared();

    Answer off = s.post(t.dana, env_path(n, "test", "live"), {});
    EXPECT_EQ(off.status, 409) << off.body.dump();
    EXPECT_EQ(off.body["rule"], "live-off");

    Answer open = s.post(t.dana, env_path(n, "dev", "live"), {});
    ASSERT_EQ(open.status, 200) << open.body.dump();
    ASSERT_EQ(open.body["status"], "open");
    int run = open.body["run"];
    EXPECT_EQ(open.body["evidence"]["statements"][0]["actual_rows"], 1) << open.body.dump();

    Answer outsider = s.post(t.po, env_path(n, "dev", "live/cancel"), {});
    EXPECT_EQ(outsider.status, 403) << outsider.body.dump();

    auto cancelled = s.cli(t.sam, {"live", std::to_string(n), "dev", "--cancel"});
    ASSERT_EQ(cancelled.status, 0) << cancelled.out << cancelled.err;
    EXPECT_EQ(run_state(run), "failed");
    EXPECT_EQ(family_name(s), before);
    Answer late = approve_live(t.sam);
    EXPECT_EQ(late.status, 409) << late.body.dump();
    EXPECT_EQ(family_name(s), before);

    // The row's lock went with the rollback: a new live run takes it and commits.
    Answer second = s.post(t.dana, env_path(n, "dev", "live"), {});
    ASSERT_EQ(second.status, 200) << second.body.dump();
    Answer commit = approve_live(t.sam);
    ASSERT_EQ(commit.status, 200) << commit.body.dump();
    EXPECT_EQ(commit.body["status"], "committed");
    EXPECT_EQ(family_name(s), "Renamed\n");
    expect_audit_intact(s, t);
}

TEST_F(Live, TheEndOfTheWindowRollsBack) {
    ServerFixture& s = serve_prepared("1s");

    Answer open = s.post(t.dana, env_path(n, "dev", "live"), {});
    ASSERT_EQ(open.status, 200) << open.body.dump();
    int run = open.body["run"];
    ASSERT_TRUE(eventually([&] { return run_state(run) == "failed"; }))
        << "the window ended and nobody approved";
    EXPECT_EQ(family_name(s), before);
    Answer late = approve_live(t.sam);
    EXPECT_EQ(late.status, 409) << late.body.dump();
    EXPECT_NE(s.server_log().find("live window ended"), std::string::npos);
    expect_audit_intact(s, t);
}

TEST_F(Live, AChangeOverTheRowLimitChangesNothing) {
    // One row of app_user, and the audit trigger's row in record_version: two rows held.
    ServerFixture& s = serve_prepared("2m", 1);
    std::string versions = s.psql("dev", "SELECT count(*) FROM app_public.record_version");

    Answer refused = s.post(t.dana, env_path(n, "dev", "live"), {});
    EXPECT_EQ(refused.status, 409) << refused.body.dump();
    EXPECT_NE(refused.body.value("message", "").find("live_max_rows = 1"), std::string::npos)
        << refused.body.dump();
    EXPECT_NE(refused.body.value("message", "").find("the change holds"), std::string::npos)
        << refused.body.dump();
    EXPECT_EQ(family_name(s), before);
    EXPECT_EQ(s.psql("dev", "SELECT count(*) FROM app_public.record_version"), versions);
    auto live = runs_of(s, t, n, "live");
    ASSERT_EQ(live.size(), 1u);
    EXPECT_EQ(live[0]["state"], "failed");
}

TEST_F(Live, AServerKilledWithTheTransactionOpenLeavesTheRowsAndItsLedgerSaysRolledBack) {
    ServerFixture& s = serve_prepared();

    s.restart({{"DATAFIX_FAULT", "live.open"}});
    // The driver's answer may or may not leave before the kill: only the outcome matters.
    s.post(t.dana, env_path(n, "dev", "live"), {});
    ASSERT_TRUE(s.wait_for_exit(std::chrono::seconds(30))) << "the server did not stop";
    s.restart({{"DATAFIX_FAULT", ""}});

    auto live = runs_of(s, t, n, "live");
    ASSERT_EQ(live.size(), 1u);
    EXPECT_EQ(live[0]["state"], "failed") << "no xid recorded: COMMIT was never sent";
    EXPECT_EQ(family_name(s), before) << "PostgreSQL rolled the open transaction back";
    EXPECT_FALSE(dev_progress(t.sam).contains("live"));
    Answer late = approve_live(t.sam);
    EXPECT_EQ(late.status, 409) << late.body.dump();

    // Nothing holds the row any more: the next live run commits once.
    Answer again = s.post(t.dana, env_path(n, "dev", "live"), {});
    ASSERT_EQ(again.status, 200) << again.body.dump();
    Answer commit = approve_live(t.sam);
    ASSERT_EQ(commit.status, 200) << commit.body.dump();
    EXPECT_EQ(family_name(s), "Renamed\n");
    expect_audit_intact(s, t);
}

TEST_F(Live, ALiveInsertDrawsNoSequenceValueBeyondItsRows) {
    ServerFixture& s = serve();
    ASSERT_EQ(s.post(t.dana, req(n, "/claim"), {}).status, 200);
    ASSERT_EQ(s.post(t.sam, req(n, "/pair"), {}).status, 200);
    Answer attached =
        s.post(t.dana, req(n, "/revisions"),
               {{"change_sql",
                 "INSERT INTO app_public.attachment (file_name) VALUES ('a.pdf'), ('b.pdf');\n"},
                {"verify_sql", "SELECT count(*) FROM app_public.attachment;\n"},
                {"expected", {2}}});
    ASSERT_EQ(attached.status, 200) << attached.body.dump();
    const std::string last =
        "SELECT coalesce(pg_sequence_last_value('app_public.attachment_id_seq'), 0)";
    long long drawn_before = std::stoll(s.psql("dev", last));

    Answer open = s.post(t.dana, env_path(n, "dev", "live"), {});
    ASSERT_EQ(open.status, 200) << open.body.dump();
    Answer commit = approve_live(t.sam);
    ASSERT_EQ(commit.status, 200) << commit.body.dump();
    ASSERT_EQ(commit.body["status"], "committed");

    long long drawn_after = std::stoll(s.psql("dev", last));
    EXPECT_EQ(drawn_after - drawn_before, 2) << "two rows committed, two values drawn";
    EXPECT_EQ(s.psql("dev", "SELECT count(*) FROM app_public.attachment WHERE id > " +
                                std::to_string(drawn_before)),
              "2\n");
}

}  // namespace
}  // namespace datafix::e2e
