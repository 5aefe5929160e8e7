// What `datafix preview | apply | revert` and `datafix watch` print, from the server's JSON as
// run_view.cpp and evidence_view.cpp shape it: the outcome line (rolled back, committed, the run
// and the xid), the evidence's counts per statement or per table of the write closure and cause,
// what may differ at apply, revert hazards, warnings, the pre-flight findings; and the live
// events, one line per step with its audit entries. Only names, counts and hashes are printed:
// whatever else an answer carries never reaches the terminal.
#include <gtest/gtest.h>

#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "cli/output.hpp"
#include "cli/request_view.hpp"

namespace datafix::cli {
namespace {

using nlohmann::json;

std::string printed(const std::function<void()>& print) {
    std::ostringstream out;
    std::streambuf* old = std::cout.rdbuf(out.rdbuf());
    try {
        print();
    } catch (...) {
        std::cout.rdbuf(old);
        throw;
    }
    std::cout.rdbuf(old);
    return out.str();
}

const Style kPlain(false);
const Style kColour(true);
const std::string kFingerprint(64, 'f');

// A preview's evidence without a write closure: one UPDATE whose trigger also writes the audit log.
json simple_evidence() {
    return {{"fingerprint", kFingerprint},
            {"environment", "dev"},
            {"system_identifier", "7301234567890123458"},
            {"plan_sha256", std::string(64, 'p')},
            {"statements",
             {{{"index", 1},
               {"kind", "update"},
               {"table", "app_public.app_user"},
               {"expected_rows", 2},
               {"actual_rows", 2},
               {"before_rows", 2},
               {"after_rows", 2},
               {"before_digest", std::string(64, 'b')},
               {"after_digest", std::string(64, 'a')},
               {"volatile_columns", {"updated_at"}},
               {"volatility", {{{"column", "updated_at"}, {"class", "clock"}, {"cause", "now()"}}}},
               {"indirect_writes", {"app_public.record_version"}}}}},
            {"verify_queries", 1},
            {"conflicts", 0},
            {"superuser_login", false},
            {"after_approved", true},
            {"volatility_unknown", json::array()}};
}

// The same change with its write closure: the audit log is append-only, the archive table is
// written by a trigger, and one cause cannot be reverted exactly.
json closure_evidence() {
    json e = simple_evidence();
    e["statements"][0]["expected_rows"] = nullptr;
    e["closure"] = {
        {{"table", "app_public.app_user"},
         {"causes", {"statement 1"}},
         {"indirect", false},
         {"append_only", false},
         {"inserted", 0},
         {"updated", 2},
         {"deleted", 0},
         {"volatility", {{{"column", "updated_at"}, {"class", "clock"}, {"cause", "now()"}}}}},
        {{"table", "app_public.app_user_archive"},
         {"causes", {"trigger archive_app_user", "rule keep_history"}},
         {"indirect", true},
         {"append_only", false},
         {"inserted", 2},
         {"updated", 0},
         {"deleted", 0},
         {"volatility",
          {{{"column", "id"}, {"class", "sequence"}, {"cause", "nextval('archive_id_seq')"}}}}},
        {{"table", "app_public.record_version"},
         {"causes", {"trigger app_user_audit"}},
         {"indirect", true},
         {"append_only", true},
         {"inserted", 2},
         {"updated", 0},
         {"deleted", 0},
         {"volatility", {{{"column", "recorded_at"}, {"class", "clock"}, {"cause", "now()"}}}}},
    };
    e["revert_exact"] = false;
    e["revert_hazards"] = {"app_public.app_user_archive.id is drawn from a sequence"};
    return e;
}

TEST(RunRendering, APreviewSaysNothingChangedAndShowsCountsPerStatement) {
    json result = {{"run", 3},
                   {"status", "previewed"},
                   {"evidence", simple_evidence()},
                   {"preflight",
                    {{"environment", "dev"}, {"role", "app_owner"}, {"findings", json::array()}}}};
    EXPECT_EQ(printed([&] { print_run_result("preview", "12", "dev", result, kPlain); }),
              "✓ preview of request #12 on dev (run 3): rolled back, nothing changed\n"
              "  evidence " +
                  kFingerprint +
                  " on dev (system 7301234567890123458)\n"
                  "  #  TABLE                EXPECTED  ACTUAL  BEFORE  AFTER  INDIRECT WRITES\n"
                  "  1  app_public.app_user  2         2       2       2      "
                  "app_public.record_version\n"
                  "  may differ at apply (compared by class):\n"
                  "    - app_public.app_user.updated_at (clock: now())\n"
                  "  verify queries: 1\n"
                  "  pre-flight on dev as role app_owner: no findings\n");
}

TEST(RunRendering, TheWriteClosureIsListedByTableAndCauseWithItsRevertHazards) {
    json result = {{"run", 3}, {"status", "previewed"}, {"evidence", closure_evidence()}};
    const std::string out =
        printed([&] { print_run_result("preview", "12", "dev", result, kPlain); });
    EXPECT_EQ(out,
              "✓ preview of request #12 on dev (run 3): rolled back, nothing changed\n"
              "  evidence " +
                  kFingerprint +
                  " on dev (system 7301234567890123458)\n"
                  // With the closure below, the statements' own table has no indirect column;
                  // an expected count the request did not declare shows as "-".
                  "  #  TABLE                EXPECTED  ACTUAL\n"
                  "  1  app_public.app_user  -         2\n"
                  "  write closure (every row the change writes, by table and cause):\n"
                  "  TABLE                                                    INSERTED  UPDATED  "
                  "DELETED  WRITTEN BY\n"
                  "  app_public.app_user                                      0         2        0 "
                  "       statement 1\n"
                  "  app_public.app_user_archive (indirect)                   2         0        0 "
                  "       trigger archive_app_user; rule keep_history\n"
                  "  app_public.record_version (append-only, never reverted)  2         0        0 "
                  "       trigger app_user_audit\n"
                  "  revert: this change cannot be reverted exactly:\n"
                  "    - app_public.app_user_archive.id is drawn from a sequence\n"
                  // The append-only audit log is counted, never compared: not listed here.
                  "  may differ at apply (compared by class):\n"
                  "    - app_public.app_user.updated_at (clock: now())\n"
                  "    - app_public.app_user_archive.id (sequence: nextval('archive_id_seq'))\n"
                  "  verify queries: 1\n");
    // No pre-flight report in the answer: no pre-flight line.
    EXPECT_EQ(out.find("pre-flight"), std::string::npos);
}

TEST(RunRendering, AnExactRevertAndNothingVolatileAreSaidSo) {
    json e = closure_evidence();
    e["revert_exact"] = true;
    e["revert_hazards"] = json::array();
    e["statements"][0]["volatility"] = json::array();
    for (json& c : e["closure"]) {
        c["volatility"] = json::array();
    }
    const std::string out = printed([&] { print_evidence(e, kPlain); });
    EXPECT_NE(out.find("  revert: exact\n"), std::string::npos) << out;
    EXPECT_EQ(out.find("cannot be reverted"), std::string::npos) << out;
    EXPECT_NE(out.find("  may differ at apply (compared by class): nothing\n"), std::string::npos)
        << out;
}

TEST(RunRendering, WarningsForASuperuserLoginAndARehearsalThatRanTwice) {
    json e = simple_evidence();
    e["superuser_login"] = true;
    e["volatility_unknown"] = {"app_public.app_user: trigger app_user_touch runs dynamic SQL"};
    const std::string out = printed([&] { print_evidence(e, kPlain); });
    EXPECT_NE(out.find("  rehearsed twice: app_public.app_user: trigger app_user_touch runs "
                       "dynamic SQL\n"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("  warning: this run logged in as a superuser (allow_superuser_login)\n"),
              std::string::npos)
        << out;
    // With colour the warnings stand out.
    const std::string coloured = printed([&] { print_evidence(e, kColour); });
    EXPECT_NE(coloured.find("\033[1mwarning: this run logged in as a superuser\033[0m"),
              std::string::npos)
        << coloured;
    // Evidence not approved with its after-images lists nothing that may differ.
    e["after_approved"] = false;
    EXPECT_EQ(printed([&] { print_evidence(e, kPlain); }).find("may differ"), std::string::npos);
    e["superuser_login"] = false;
    EXPECT_EQ(printed([&] { print_evidence(e, kPlain); }).find("warning"), std::string::npos);
}

TEST(RunRendering, OnlyNamesCountsAndTheFingerprintAreShown) {
    // Whatever else the answer holds (digests, a future field with values) stays off the screen.
    json result = {{"run", 3},
                   {"status", "previewed"},
                   {"evidence", closure_evidence()},
                   {"images", {{"rows", {{"family_name", "Fabricated-Private-Name"}}}}}};
    result["evidence"]["statements"][0]["sample"] = "Fabricated-Private-Name";
    const std::string out =
        printed([&] { print_run_result("preview", "12", "dev", result, kPlain); });
    EXPECT_EQ(out.find("Fabricated-Private-Name"), std::string::npos) << out;
    for (const char* digest : {"bbbbbbbbbbbb", "aaaaaaaaaaaa", "pppppppppppp"}) {
        EXPECT_EQ(out.find(digest), std::string::npos) << digest << "\n" << out;
    }
}

TEST(RunRendering, APreviewListsItsPreflightFindingsWithTheirHints) {
    json result = {{"run", 4},
                   {"status", "previewed"},
                   {"evidence", simple_evidence()},
                   {"preflight",
                    {{"environment", "dev"},
                     {"role", "app_owner"},
                     {"findings",
                      {{{"severity", "warning"},
                        {"message", "app_public.app_user has 2 triggers the change fires"},
                        {"hint", ""}},
                       {{"severity", "blocker"},
                        {"message", "NO policy lets app_owner UPDATE app_public.app_user"},
                        {"hint", "CREATE POLICY ... TO app_owner"}}}}}}};
    const std::string out =
        printed([&] { print_run_result("preview", "12", "dev", result, kPlain); });
    EXPECT_NE(out.find("  pre-flight on dev as role app_owner: 2 findings\n"
                       "    warning: app_public.app_user has 2 triggers the change fires\n"
                       "    blocker: NO policy lets app_owner UPDATE app_public.app_user\n"
                       "      HINT: CREATE POLICY ... TO app_owner\n"),
              std::string::npos)
        << out;
    // Blockers are red, warnings yellow, on a terminal that shows colour.
    const std::string coloured =
        printed([&] { print_run_result("preview", "12", "dev", result, kColour); });
    EXPECT_NE(coloured.find("\033[31mblocker\033[0m"), std::string::npos) << coloured;
    EXPECT_NE(coloured.find("\033[33mwarning\033[0m"), std::string::npos) << coloured;
    EXPECT_EQ(coloured.find("\033[32m✓ \033[0mpreview of request #12"), 0U) << coloured;
}

TEST(RunRendering, ApplyAndRevertNameTheOutcomeTheRunAndTheXid) {
    json applied = {{"run", 5},
                    {"status", "committed"},
                    {"xid", "7781"},
                    {"resolved_by", ""},
                    {"evidence", simple_evidence()}};
    const std::string out =
        printed([&] { print_run_result("apply", "12", "prod", applied, kPlain); });
    EXPECT_EQ(out.rfind("✓ applied request #12 on prod: committed (run 5, xid 7781)\n"
                        "  evidence " +
                            kFingerprint + " on dev",
                        0),
              0U)
        << out;
    EXPECT_NE(out.find("  1  app_public.app_user  2         2       2       2"), std::string::npos)
        << out;

    // A revert answered without evidence prints its one line.
    json reverted = {{"run", 6}, {"status", "reverted"}};
    EXPECT_EQ(printed([&] { print_run_result("revert", "12", "dev", reverted, kPlain); }),
              "✓ reverted request #12 on dev: reverted (run 6)\n");
    // An apply with no xid yet (in doubt) still prints the run.
    json in_doubt = {{"run", 7}, {"status", "in_doubt"}};
    EXPECT_EQ(printed([&] { print_run_result("apply", "12", "prod", in_doubt, kPlain); }),
              "✓ applied request #12 on prod: in_doubt (run 7, xid -)\n");
}

TEST(WatchRendering, EveryEventIsOneLinePlusItsAuditEntries) {
    EXPECT_EQ(describe_event({{"type", "watching"},
                              {"request", 12},
                              {"version", 4},
                              {"status", "open"},
                              {"watcher", "Sam Pair"}},
                             kPlain),
              "watching request #12 (open, version 4)");
    EXPECT_EQ(describe_event({{"type", "step"},
                              {"step", "approve"},
                              {"actor", {{"id", 3}, {"name", "Sam Pair"}}},
                              {"version", 9},
                              {"audit",
                               {{{"action", "approval.granted"},
                                 {"environment", "dev"},
                                 {"statement_hash", std::string(64, 's')},
                                 {"evidence_fingerprint", kFingerprint},
                                 {"detail", "kind=pair"}},
                                {{"action", "claim.renewed"},
                                 {"environment", ""},
                                 {"statement_hash", ""},
                                 {"evidence_fingerprint", ""},
                                 {"detail", ""}}}}},
                             kPlain),
              "approve by Sam Pair\n"
              "    approval.granted on dev  evidence ffffffffffff  kind=pair\n"
              "    claim.renewed");
    EXPECT_EQ(describe_event(
                  {{"type", "run.started"}, {"run", 5}, {"kind", "apply"}, {"environment", "prod"}},
                  kPlain),
              "run 5 started: apply on prod");
}

TEST(WatchRendering, AFinishedRunShowsItsCountsAndAFailedOneSaysNothingChanged) {
    json finished = {{"type", "run.finished"},
                     {"run", 5},
                     {"status", "committed"},
                     {"xid", "7781"},
                     {"evidence", simple_evidence()}};
    finished["evidence"]["statements"].push_back({{"index", 2},
                                                  {"table", "app_public.intake"},
                                                  {"expected_rows", nullptr},
                                                  {"actual_rows", 0}});
    EXPECT_EQ(describe_event(finished, kPlain),
              "run 5 finished: committed\n"
              "    statement 1 on app_public.app_user: 2 rows (expected 2)\n"
              "    statement 2 on app_public.intake: 0 rows (expected -)\n"
              "    evidence " +
                  kFingerprint);
    EXPECT_EQ(
        describe_event({{"type", "run.finished"}, {"run", 6}, {"status", "rolled_back"}}, kPlain),
        "run 6 finished: rolled_back");

    json failed = {{"type", "run.failed"}, {"run", 7}, {"error", "count_mismatch"}};
    EXPECT_EQ(describe_event(failed, kPlain),
              "run 7 failed: count_mismatch (rolled back, nothing changed)");
    EXPECT_EQ(describe_event(failed, kColour),
              "\033[31mrun 7 failed: count_mismatch (rolled back, nothing changed)\033[0m");
    // An event this client does not know yet is named, not dropped.
    EXPECT_EQ(describe_event({{"type", "backup.progress"}, {"bytes", 100}}, kPlain),
              "backup.progress");
}

}  // namespace
}  // namespace datafix::cli
