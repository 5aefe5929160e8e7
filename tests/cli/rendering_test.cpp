// Human output from given JSON answers, as a person reads it on a terminal: tables aligned by
// display width, colour only when asked, people and nulls named, short hashes; a run's rows as a
// diff (changed columns only, inserted and deleted rows named, values clipped), verify results as
// a table; pre-flight findings with their HINTs; who owns a request's next step; what a new
// revision voided.
#include <gtest/gtest.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli/output.hpp"
#include "cli/preflight_view.hpp"
#include "cli/request_view.hpp"

namespace datafix::cli {
namespace {

using nlohmann::json;

// What `print` writes to std::cout (or std::cerr).
template <class Print>
std::string captured(Print print, std::ostream& stream = std::cout) {
    std::ostringstream out;
    std::streambuf* old = stream.rdbuf(out.rdbuf());
    try {
        print();
    } catch (...) {
        stream.rdbuf(old);
        throw;
    }
    stream.rdbuf(old);
    return out.str();
}

const Style kPlain(false);
const Style kColour(true);

TEST(Output, ATableIsAlignedByDisplayWidth) {
    Table t({"#", "TITLE", "NEXT"});
    t.add({"7", "fix an intake name", "claim"});
    t.add({"12", "Zoë's address", "approve"});
    std::ostringstream out;
    t.print(out, kPlain, "  ");
    EXPECT_EQ(out.str(),
              "  #   TITLE               NEXT\n"
              "  7   fix an intake name  claim\n"
              "  12  Zoë's address       approve\n");
    EXPECT_FALSE(t.empty());
    EXPECT_TRUE(Table({"A"}).empty());
}

TEST(Output, ColourOnlyWhenAsked) {
    EXPECT_EQ(kPlain.red("refused"), "refused");
    EXPECT_EQ(kColour.red("refused"), "\033[31mrefused\033[0m");
    EXPECT_EQ(kColour.green("ok"), "\033[32mok\033[0m");
    // A table's header is bold with colour, and only the header.
    Table t({"A"});
    t.add({"x"});
    std::ostringstream out;
    t.print(out, kColour);
    EXPECT_EQ(out.str(), "\033[1mA\033[0m\nx\n");
}

TEST(Output, PeopleNullsAndHashesAsText) {
    EXPECT_EQ(person_text(json{{"id", 3}, {"name", "Dana Dev"}, {"email", "dana@example.com"}}),
              "Dana Dev <dana@example.com>");
    EXPECT_EQ(person_text(json{{"id", 3}, {"name", "Dana Dev"}}), "Dana Dev");
    EXPECT_EQ(person_text(json{{"id", 3}}), "user 3");
    EXPECT_EQ(person_text(json()), "-");
    EXPECT_EQ(text(json()), "-");
    EXPECT_EQ(text(json("prod")), "prod");
    EXPECT_EQ(text(json(42)), "42");
    EXPECT_EQ(text(json(true)), "true");
    EXPECT_EQ(short_hash(std::string(64, 'a')), std::string(12, 'a'));
    EXPECT_EQ(short_hash("abc"), "abc");
}

TEST(Output, JsonIsPrintedAsItCame) {
    const json body = {{"number", 7}, {"title", "fix"}, {"claim", nullptr}};
    const std::string printed = captured([&] { print_json(body); });
    EXPECT_EQ(json::parse(printed), body);
    EXPECT_EQ(printed.back(), '\n');
}

// One statement's images as the server sends them (GET .../runs/N/images).
json images_of(json before, json after, bool truncated = false) {
    return {{"images",
             {{{"index", 1},
               {"table", "app_public.app_user"},
               {"columns", {"id", "email_address", "name"}},
               {"key_columns", {"id"}},
               {"before", std::move(before)},
               {"after", std::move(after)},
               {"truncated", truncated}}}}};
}

TEST(RequestView, ImagesShowOnlyChangedColumnsPerRow) {
    const json body = images_of({{1, "old@example.com", "Ann"}, {2, "b@example.com", "Bo"}},
                                {{1, "new@example.com", "Ann"}, {2, "b@example.com", "Bo"}});
    const std::string out = captured([&] { print_images(body, kPlain); });
    EXPECT_EQ(out,
              "  statement 1 on app_public.app_user\n"
              "    id 1\n"
              "      - email_address: old@example.com\n"
              "      + email_address: new@example.com\n"
              "    id 2\n");
    // With colour: removed red, added green.
    const std::string coloured = captured([&] { print_images(body, kColour); });
    EXPECT_NE(coloured.find("\033[31m- email_address: old@example.com\033[0m"), std::string::npos);
    EXPECT_NE(coloured.find("\033[32m+ email_address: new@example.com\033[0m"), std::string::npos);
}

TEST(RequestView, InsertedAndDeletedRowsAreNamedWithEveryValueAndNullsShown) {
    const json body = images_of({{5, "gone@example.com", nullptr}}, {{6, "new@example.com", "Cy"}});
    EXPECT_EQ(captured([&] { print_images(body, kPlain); }),
              "  statement 1 on app_public.app_user\n"
              "    id 5  deleted\n"
              "      - id: 5\n"
              "      - email_address: gone@example.com\n"
              "      - name: NULL\n"
              "    id 6  inserted\n"
              "      + id: 6\n"
              "      + email_address: new@example.com\n"
              "      + name: Cy\n");
}

TEST(RequestView, LongValuesAreClippedAndATruncatedRunSaysSo) {
    const std::string long_value(100, 'x');
    const json body =
        images_of({{1, "a@example.com", "Ann"}}, {{1, "a@example.com", long_value}}, true);
    const std::string out = captured([&] { print_images(body, kPlain); });
    EXPECT_NE(out.find("+ name: " + std::string(77, 'x') + "...\n"), std::string::npos) << out;
    EXPECT_EQ(out.find(long_value), std::string::npos);
    EXPECT_NE(out.find("more rows not shown"), std::string::npos);
}

TEST(RequestView, DisplayKeyNamesTheRowAndVerifyResultsAreATable) {
    json body = images_of({{1, "a@example.com", "Ann"}}, {{1, "z@example.com", "Ann"}});
    body["images"][0]["display_key"] = {"name"};
    body["summary"] = {{"sentences",
                        {{{"text", "changes the email address of 1 app user"}},
                         {{"text", "sets updated_at"}, {"quiet", true}}}}};
    body["verify"] = {
        {"verify",
         {{{"index", 1}, {"columns", {"id", "email_address"}}, {"rows", {{1, "z@example.com"}}}}}}};
    const std::string out = captured([&] { print_images(body, kPlain); });
    EXPECT_NE(out.find("  what changes\n    changes the email address of 1 app user\n"
                       "    sets updated_at (by triggers)\n"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("    name Ann\n"), std::string::npos) << out;
    EXPECT_NE(out.find("  verify query 1\n    id  email_address\n    1   z@example.com\n"),
              std::string::npos)
        << out;
}

// A request as GET /api/requests/N answers it (the keys print_request reads).
json request_state() {
    return {{"number", 7},
            {"title", "fix an intake name"},
            {"status", "open"},
            {"reason", "asked by email"},
            {"requested_by", {{"id", 4}, {"name", "Pat Owner"}, {"email", "pat@example.com"}}},
            {"requested_date", "2024-05-01"},
            {"ticket", "https://tickets.example.com/1"},
            {"next",
             {{"what", "preview in dev"}, {"owner", "driver"}, {"person", {{"name", "Dana Dev"}}}}},
            {"claim",
             {{"driver", {{"id", 2}, {"name", "Dana Dev"}, {"email", "dana@example.com"}}},
              {"lease_expires_at", "2024-05-01T10:30:00Z"},
              {"active", true}}},
            {"pair", nullptr},
            {"revision",
             {{"number", 1},
              {"hash", std::string(64, 'c')},
              {"statements",
               {{{"normalized", "UPDATE app_public.intake SET name = $1 WHERE id = $2"},
                 {"expected_rows", 1}}}}}},
            {"progress",
             {{"product_owner_approved", false},
              {"environments",
               {{{"name", "dev"},
                 {"stage", "previewed"},
                 {"preview_run", 1},
                 {"fingerprint", std::string(64, 'f')},
                 {"apply_run", 0}},
                {{"name", "prod"}, {"stage", "waiting"}}}}}},
            {"runs",
             {{{"number", 1},
               {"environment", "dev"},
               {"kind", "preview"},
               {"state", "succeeded"},
               {"revision", 1},
               {"counts", {1}},
               {"fingerprint", std::string(64, 'f')},
               {"started_by", {{"name", "Dana Dev"}}}}}},
            {"approvals", json::array()}};
}

TEST(RequestView, ARequestWithItsPeopleRevisionEnvironmentsAndRuns) {
    const std::string out = captured([&] { print_request(request_state(), kPlain); });
    for (const std::string& line : std::vector<std::string>{
             "Request #7  fix an intake name  [open]\n",
             "  reason        asked by email\n",
             "  requested by  Pat Owner <pat@example.com>  for 2024-05-01\n",
             "  ticket        https://tickets.example.com/1\n",
             "  next step     preview in dev  (Dana Dev (driver))\n",
             "  driver        Dana Dev <dana@example.com>  (lease until 2024-05-01T10:30:00Z)\n",
             "  pair          nobody (datafix pair)\n",
             "  revision      1  sha256 " + std::string(64, 'c') + "\n",
             "    1. UPDATE app_public.intake SET name = $1 WHERE id = $2   expect 1 rows\n",
             "  product owner not approved\n",
             "  ENVIRONMENT  STAGE      PREVIEW RUN  EVIDENCE      APPLY RUN\n",
             "  dev          previewed  1            ffffffffffff  -\n",
             "  prod         waiting    -                          -\n",
             "  1    dev  preview  succeeded  1    [1]     ffffffffffff  Dana Dev\n",
         }) {
        EXPECT_NE(out.find(line), std::string::npos) << "missing: " << line << "in:\n" << out;
    }
    EXPECT_EQ(out.find("APPROVAL"), std::string::npos) << "no approvals, no table";
}

TEST(RequestView, APrivateReasonAndAnEndedLeaseAreSaidSo) {
    json s = request_state();
    s["reason"] = nullptr;
    s["reason_private"] = true;
    s["claim"]["active"] = false;
    s["revision"] = nullptr;
    const std::string out = captured([&] { print_request(s, kPlain); });
    EXPECT_NE(out.find("  reason        (only for the request's people)\n"), std::string::npos)
        << out;
    EXPECT_NE(out.find("  driver        Dana Dev <dana@example.com>  (lease ended "
                       "2024-05-01T10:30:00Z)\n"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("  revision      none yet (datafix change)\n"), std::string::npos) << out;
}

TEST(RequestView, TheNextStepsOwnerByName) {
    EXPECT_EQ(next_step_owner({{"owner", "developer"}}), "any developer");
    EXPECT_EQ(next_step_owner({{"owner", "nobody"}}), "-");
    EXPECT_EQ(next_step_owner({{"owner", "pair"}, {"person", {{"name", "Sam Pair"}}}}),
              "Sam Pair (pair)");
    EXPECT_EQ(next_step_owner({{"owner", "product_owner"}, {"person", nullptr}}),
              "the product owner");
    EXPECT_EQ(next_step_owner({{"owner", "running"}, {"person", {{"name", "Dana Dev"}}}}),
              "the server (started by Dana Dev)");
    EXPECT_EQ(next_step_owner({{"owner", "running"}}), "the server");
}

TEST(RequestView, ConsequencesNameWhatWasVoidedAndWhereDataIsStillChanged) {
    const json c = {{"voided",
                     {{{"kind", "evidence"},
                       {"environment", "test"},
                       {"revision", 2},
                       {"approved_by", {{"name", "Sam Pair"}, {"email", "sam@example.com"}}}}}},
                    {"held", {{{"environment", "dev"}, {"revision", 2}}}}};
    EXPECT_EQ(captured([&] { print_consequences(c, kPlain); }),
              "  voided 1 approval:\n"
              "    evidence in test of revision 2 by Sam Pair <sam@example.com>\n"
              "  data still changed in dev (revision 2)\n");
    EXPECT_EQ(captured([&] { print_consequences(json::object(), kPlain); }),
              "  no approval voided\n  no environment holds the change\n");
    EXPECT_EQ(captured([&] { print_consequences(json(), kPlain); }), "");
}

TEST(RequestView, GuardDetailsNameOnlyTheRefusedStatementsOnStderr) {
    const json details = {
        {"statements",
         {{{"index", 1},
           {"normalized", "UPDATE app_public.app_user SET name = $1 WHERE id = $2"},
           {"verdict", {{"allowed", true}}}},
          {{"index", 2},
           {"normalized", "SET ROLE postgres"},
           {"verdict", {{"allowed", false}, {"reason", "changes the session's role"}}}}}}};
    const std::string err = captured([&] { print_guard_details(details, kPlain); }, std::cerr);
    EXPECT_EQ(err, "  refused statement 2 (SET ROLE postgres): changes the session's role\n");
    EXPECT_EQ(captured([&] { print_guard_details(json(), kPlain); }, std::cerr), "");
}

TEST(PreflightView, FindingsWithSeverityAndHint) {
    const json report = {
        {"environment", "prod"},
        {"role", "app_owner"},
        {"findings",
         {{{"severity", "blocker"},
           {"message", "a trigger writes app_private.log, which the role cannot read"},
           {"hint", "grant SELECT on app_private.log to app_owner"}},
          {{"severity", "warning"}, {"message", "no primary key on app_public.note"}}}}};
    EXPECT_EQ(captured([&] { print_preflight_findings(report, kPlain); }),
              "  pre-flight on prod as role app_owner: 2 findings\n"
              "    blocker: a trigger writes app_private.log, which the role cannot read\n"
              "      HINT: grant SELECT on app_private.log to app_owner\n"
              "    warning: no primary key on app_public.note\n");
    const std::string coloured = captured([&] { print_preflight_findings(report, kColour); });
    EXPECT_NE(coloured.find("\033[31mblocker\033[0m"), std::string::npos);
    EXPECT_NE(coloured.find("\033[33mwarning\033[0m"), std::string::npos);
    EXPECT_EQ(captured([&] {
                  print_preflight_findings(
                      {{"environment", "dev"}, {"role", "app_owner"}, {"findings", json::array()}},
                      kPlain);
              }),
              "  pre-flight on dev as role app_owner: no findings\n");
    EXPECT_EQ(captured([&] { print_preflight_findings(json(), kPlain); }), "");
}

}  // namespace
}  // namespace datafix::cli
