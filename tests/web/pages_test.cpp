// The web pages in a real browser: a real `datafix server` on the harness's clusters (the e2e
// fixture), a request walked through the runbook by the API, and tests/web/pages.test.mjs driving
// headless Chromium for the pair's and the product owner's steps, and a 40-row preview read in
// pages; and the product owner's whole path in one browser session while the developers use
// datafix's command line. Each browser phase's checks are in the script; here: the server state
// before and after them. Screenshots (1280 px and 390 px wide) land in the test's working
// directory, the build's tests/ folder.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "e2e/runbook_steps.hpp"
#include "harness/process.hpp"

namespace datafix::e2e {

namespace {

const std::string kScript = std::string(DATAFIX_SOURCE_DIR) + "/tests/web/pages.test.mjs";

struct Browser {
    std::string url;
    long long request = 0;
    std::string canary;
    Team team;
    std::string outsider;
    std::string title = "Correct a postcode filed in the browser";
    std::string reason;
    std::string user_key;    // the changed row's display key (app_user's email_address)
    std::string old_name;    // its family_name before the change
    std::string abort_file;  // written when the developers' side fails, to stop the browser

    testing::ProcessResult run(const std::string& phase) const {
        std::string shots = std::filesystem::current_path().string();
        return testing::run_process(
            {"env", "DATAFIX_URL=" + url, "DATAFIX_REQUEST=" + std::to_string(request),
             "DATAFIX_CANARY=" + canary, "DATAFIX_SCREENSHOT_DIR=" + shots,
             "DATAFIX_TOKEN_PAIR=" + team.sam, "DATAFIX_TOKEN_DRIVER=" + team.dana,
             "DATAFIX_TOKEN_PO=" + team.po, "DATAFIX_TOKEN_OUTSIDER=" + outsider,
             "DATAFIX_TITLE=" + title, "DATAFIX_REASON=" + reason, "DATAFIX_USER_KEY=" + user_key,
             "DATAFIX_OLD_NAME=" + old_name, "DATAFIX_ABORT_FILE=" + abort_file, "node", kScript,
             phase});
    }
};

// Waits, as the developers do, for the product owner's part in the browser: true when `done`
// holds, false when the browser's script ended first or after fifteen minutes.
template <class Check>
bool wait_for_browser(const std::atomic<bool>& browser_ended, Check done) {
    for (int i = 0; i < 15 * 60 * 5; ++i) {
        if (done()) {
            return true;
        }
        if (browser_ended) {
            return done();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return done();
}

// One `datafix` command of a developer, through the real server: empty when it succeeded, else
// what it printed.
std::string developer_runs(ServerFixture& s, const std::string& token,
                           const std::vector<std::string>& args) {
    auto run = s.cli(token, args);
    if (run.status == 0) {
        return {};
    }
    std::string line = "datafix";
    for (const auto& a : args) {
        line += " " + a;
    }
    return line + " exited " + std::to_string(run.status) + ": " + run.out + run.err;
}

bool browser_available() {
    return std::filesystem::exists("/usr/bin/chromium") &&
           std::filesystem::exists(std::string(DATAFIX_SOURCE_DIR) +
                                   "/tests/web/node_modules/playwright-core");
}

// Whether any file under `dir` holds `text` (the ledger, its journal, the server's log).
bool any_file_holds(const std::string& dir, const std::string& text) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
        if (!entry.is_regular_file()) {
            continue;
        }
        std::ifstream in(entry.path(), std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (bytes.find(text) != std::string::npos) {
            return true;
        }
    }
    return false;
}

// Rows are named as people know them: users by e-mail address, applications by number.
ServerOptions with_display_keys() {
    ServerOptions options;
    options.sections =
        "\n[display_keys]\n\"app_public.app_user\" = \"email_address\"\n"
        "\"app_public.application\" = \"application_number\"\n";
    return options;
}

}  // namespace

TEST(WebPages, ServedWithAStrictPolicyFromTheBinary) {
    ServerFixture s;
    httplib::Client client(s.url());
    for (const char* path : {"/", "/requests/7", "/assets/app.js", "/assets/app.css"}) {
        auto res = client.Get(path);
        ASSERT_TRUE(res) << path;
        EXPECT_EQ(res->status, 200) << path;
        EXPECT_NE(res->get_header_value("Content-Security-Policy").find("default-src 'self'"),
                  std::string::npos);
        EXPECT_EQ(res->get_header_value("Content-Security-Policy").find("unsafe"),
                  std::string::npos);
        EXPECT_EQ(res->get_header_value("X-Content-Type-Options"), "nosniff");
        EXPECT_EQ(res->get_header_value("Referrer-Policy"), "no-referrer");
        EXPECT_EQ(res->get_header_value("Cache-Control"), "no-cache");
        auto again = client.Get(path, {{"If-None-Match", res->get_header_value("ETag")}});
        ASSERT_TRUE(again);
        EXPECT_EQ(again->status, 304) << path;
    }
    auto script = client.Get("/assets/app.js");
    EXPECT_EQ(script->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
    auto html = client.Get("/");
    EXPECT_EQ(html->get_header_value("Content-Type"), "text/html; charset=utf-8");
    // No inline script: every <script> names a file.
    EXPECT_EQ(html->body.find("<script>"), std::string::npos);
    EXPECT_EQ(client.Get("/assets/missing.js")->status, 404);
    EXPECT_EQ(client.Get("/assets/../datafix.toml")->status, 404);
    // The API is unchanged: JSON errors, bearer tokens.
    EXPECT_EQ(s.get("", "/api/requests").status, 401);
}

TEST(WebPages, PairAndProductOwnerApproveInTheBrowser) {
    if (!browser_available()) {
        GTEST_SKIP() << "needs /usr/bin/chromium and npm ci in tests/web (scripts/test.sh)";
    }
    ServerFixture s(with_display_keys());
    Browser browser;
    browser.url = s.url();
    browser.team = make_team(s);
    browser.outsider = s.add_person("Olu Outsider", "olu@example.com", "developer");
    browser.canary = "CANARY" + std::to_string(::getpid()) + "W";
    // The sample data's user 3 (testdata/sample_app/generate.sql).
    browser.user_key = "applicant3@example.com";
    browser.old_name = "Dunmore";
    const Team& t = browser.team;
    browser.request = file_request(s, t);
    long long n = browser.request;
    prepare(s, t, n,
            "UPDATE app_public.app_user SET family_name = '" + browser.canary + "' WHERE id = 3;");
    ASSERT_EQ(s.post(t.dana, env_path(n, "dev", "preview"), {}).status, 200);

    auto pair = browser.run("pair");
    ASSERT_EQ(pair.status, 0) << pair.out << pair.err;
    auto st = state_of(s, t.sam, n);
    bool approved = false;
    for (const auto& a : st["approvals"]) {
        approved = approved || (a["kind"] == "evidence" && a["environment"] == "dev" &&
                                a["fingerprint"] == fingerprint(st, "dev") &&
                                a["approved_by"]["email"] == "sam@example.com");
    }
    EXPECT_TRUE(approved) << st["approvals"].dump();

    ASSERT_EQ(s.post(t.dana, env_path(n, "dev", "apply"), {{"fingerprint", fingerprint(st, "dev")}})
                  .status,
              200);
    promote(s, t, n, "test");
    auto po = browser.run("po");
    ASSERT_EQ(po.status, 0) << po.out << po.err;
    st = state_of(s, t.po, n);
    EXPECT_TRUE(st["progress"]["product_owner_approved"].get<bool>()) << st.dump();
    EXPECT_TRUE(std::filesystem::exists("web-request.png"));
    EXPECT_TRUE(std::filesystem::exists("web-request-phone.png"));
    std::cout << "screenshots: " << std::filesystem::current_path().string()
              << "/web-{list,pair-approved,request,request-approved,request-phone}.png\n";
    EXPECT_EQ(s.server_log().find(browser.canary), std::string::npos);
    EXPECT_EQ(s.server_log().find(browser.user_key), std::string::npos);
}

TEST(WebPages, ALargeDiffIsASentenceThenPages) {
    if (!browser_available()) {
        GTEST_SKIP() << "needs /usr/bin/chromium and npm ci in tests/web (scripts/test.sh)";
    }
    ServerFixture s(with_display_keys());
    Browser browser;
    browser.url = s.url();
    browser.team = make_team(s);
    browser.canary = "unused";
    const Team& t = browser.team;
    browser.request = file_request(s, t);
    long long n = browser.request;
    ASSERT_EQ(s.post(t.dana, req(n, "/claim"), {}).status, 200);
    ASSERT_EQ(s.post(t.sam, req(n, "/pair"), {}).status, 200);
    Answer a = s.post(t.dana, req(n, "/revisions"),
                      {{"change_sql",
                        "UPDATE app_public.application SET form_data = '{\"reviewed\": true}' "
                        "WHERE id BETWEEN 1 AND 40;\n"},
                       {"verify_sql", "SELECT count(*) FROM app_public.application;\n"},
                       {"expected", {40}}});
    ASSERT_EQ(a.status, 200) << a.body.dump();
    ASSERT_EQ(s.post(t.dana, env_path(n, "dev", "preview"), {}).status, 200);
    auto large = browser.run("large");
    ASSERT_EQ(large.status, 0) << large.out << large.err;
    EXPECT_TRUE(std::filesystem::exists("web-large-phone.png"));
    std::cout << "screenshots: " << std::filesystem::current_path().string()
              << "/web-large{,-phone}.png\n";
    EXPECT_EQ(s.server_log().find("APP-0000001"), std::string::npos);
}

TEST(WebPages, AProductOwnerFilesARequestAndThePairFindsTheApprovalInTheInbox) {
    if (!browser_available()) {
        GTEST_SKIP() << "needs /usr/bin/chromium and npm ci in tests/web (scripts/test.sh)";
    }
    ServerFixture s;
    Browser browser;
    browser.url = s.url();
    browser.team = make_team(s);
    browser.outsider = s.add_person("Olu Outsider", "olu@example.com", "developer");
    browser.canary = "CANARY" + std::to_string(::getpid()) + "I";
    browser.reason = "Sealedreason" + std::to_string(::getpid()) + " asked by phone";
    const Team& t = browser.team;

    auto filed = browser.run("file");
    ASSERT_EQ(filed.status, 0) << filed.out << filed.err;
    auto list = s.get(t.po, "/api/requests").body["requests"];
    ASSERT_EQ(list.size(), 1u) << list.dump();
    long long n = list[0]["number"];
    nlohmann::json st = state_of(s, t.po, n);
    EXPECT_EQ(st["title"], browser.title);
    EXPECT_EQ(st["requested_by"]["email"], "priya@example.com");
    EXPECT_EQ(st["reason"], browser.reason);
    EXPECT_EQ(st["next"]["step"], "claim");
    // Sealed: the reason is nowhere in the server's files (ledger, journal, log) in clear.
    EXPECT_FALSE(any_file_holds(s.dir(), "Sealedreason" + std::to_string(::getpid())));
    EXPECT_TRUE(state_of(s, browser.outsider, n)["reason"].is_null());

    prepare(s, t, n,
            "UPDATE app_public.app_user SET family_name = '" + browser.canary + "' WHERE id = 3;");
    ASSERT_EQ(s.post(t.dana, env_path(n, "dev", "preview"), {}).status, 200);
    auto inbox = browser.run("inbox");
    ASSERT_EQ(inbox.status, 0) << inbox.out << inbox.err;
    // The pair sent it back from the browser: the driver's inbox now waits on a new preview, and
    // the evidence approval was withdrawn.
    auto dana = s.get(t.dana, "/api/inbox").body;
    ASSERT_EQ(dana["waiting_on_you"].size(), 1u) << dana.dump();
    EXPECT_EQ(dana["waiting_on_you"][0]["number"], n);
    EXPECT_EQ(dana["waiting_on_you"][0]["next"]["step"], "preview");
    EXPECT_EQ(dana["waiting_on_you"][0]["next"]["person"]["email"], "dana@example.com");
    EXPECT_EQ(dana["yours"].size(), 1u) << dana.dump();
    st = state_of(s, t.dana, n);
    ASSERT_TRUE(st["changes_requested"].is_object()) << st.dump();
    EXPECT_EQ(st["changes_requested"]["by"]["email"], "sam@example.com");
    EXPECT_EQ(s.post(t.dana, env_path(n, "dev", "apply"), {{"fingerprint", fingerprint(st, "dev")}})
                  .body["rule"],
              "evidence-not-approved");
    EXPECT_TRUE(std::filesystem::exists("web-home-1280.png"));
    EXPECT_TRUE(std::filesystem::exists("web-home-390.png"));
    std::cout << "screenshots: " << std::filesystem::current_path().string()
              << "/web-home-{1280,390}.png\n";
    EXPECT_EQ(s.server_log().find(browser.canary), std::string::npos);
}

// The product owner's path without a break: one browser session files the request, follows the
// developers (datafix's command line through the same server) on the open page, finds the
// approval in the inbox, reads the summary sentence, approves prod through a confirmation and
// sees the request done. Afterwards the driver finds the test data to put back under "To tidy
// up", in `datafix inbox` and on the home page, until it is reverted.
TEST(WebPages, AProductOwnerGoesFromTheFormToProductionInOneBrowserSession) {
    if (!browser_available()) {
        GTEST_SKIP() << "needs /usr/bin/chromium and npm ci in tests/web (scripts/test.sh)";
    }
    ServerFixture s(with_display_keys());
    Browser browser;
    browser.url = s.url();
    browser.team = make_team(s);
    browser.outsider = s.add_person("Olu Outsider", "olu@example.com", "developer");
    browser.canary = "CANARY" + std::to_string(::getpid()) + "J";
    browser.reason = "Sealedjourney" + std::to_string(::getpid()) + " asked at the counter";
    browser.title = "Correct a family name, filed in the browser";
    browser.user_key = "applicant3@example.com";
    browser.old_name = "Dunmore";
    browser.abort_file = s.dir() + "/journey-abort";
    const Team& t = browser.team;
    const std::string change = s.dir() + "/journey-change.sql";
    const std::string verify = s.dir() + "/journey-verify.sql";
    std::ofstream(change) << "UPDATE app_public.app_user SET family_name = '" << browser.canary
                          << "' WHERE id = 3;\n";
    std::ofstream(verify) << kVerify;

    std::atomic<bool> ended{false};
    testing::ProcessResult journey;
    std::thread product_owner([&] {
        journey = browser.run("journey");
        ended = true;
    });
    long long n = 0;
    // The developers' side; the first failure stops it and, through the abort file, the browser.
    auto developers = [&]() -> std::string {
        if (!wait_for_browser(
                ended, [&] { return !s.get(t.dana, "/api/requests").body["requests"].empty(); })) {
            return "no request was filed in the browser";
        }
        n = s.get(t.dana, "/api/requests").body["requests"][0]["number"];
        const std::string number = std::to_string(n);
        std::vector<std::pair<const std::string*, std::vector<std::string>>> steps = {
            {&t.dana, {"claim", number}},
            {&t.sam, {"pair", number}},
            {&t.dana, {"change", number, "--change", change, "--verify", verify, "--expect", "1"}}};
        for (const char* env : {"dev", "test"}) {
            steps.push_back({&t.dana, {"preview", number, env}});
            steps.push_back({&t.sam, {"approve", number, env}});
            steps.push_back({&t.dana, {"apply", number, env}});
        }
        for (const auto& [token, args] : steps) {
            if (std::string failed = developer_runs(s, *token, args); !failed.empty()) {
                return failed;
            }
        }
        if (!wait_for_browser(ended, [&] {
                return state_of(s, t.po, n)["progress"]["product_owner_approved"] == true;
            })) {
            return "the product owner did not approve prod in the browser";
        }
        for (const auto& [token, args] :
             std::vector<std::pair<const std::string*, std::vector<std::string>>>{
                 {&t.dana, {"preview", number, "prod"}},
                 {&t.sam, {"approve", number, "prod"}},
                 {&t.dana, {"apply", number, "prod"}}}) {
            if (std::string failed = developer_runs(s, *token, args); !failed.empty()) {
                return failed;
            }
        }
        return {};
    };
    const std::string failed = developers();
    if (!failed.empty()) {
        std::ofstream(browser.abort_file) << failed;
    }
    product_owner.join();
    ASSERT_TRUE(failed.empty()) << failed << "\nbrowser: " << journey.out << journey.err;
    ASSERT_EQ(journey.status, 0) << journey.out << journey.err;

    // What the browser did is what the server holds: filed by Priya, approved by her, done.
    nlohmann::json st = state_of(s, t.po, n);
    EXPECT_EQ(st["title"], browser.title);
    EXPECT_EQ(st["requested_by"]["email"], "priya@example.com");
    EXPECT_EQ(st["ticket"], "https://tickets.example.com/DF-77");
    EXPECT_EQ(st["status"], "done");
    bool po_approved = false;
    for (const auto& a : st["approvals"]) {
        po_approved = po_approved || (a["kind"] == "product_owner" &&
                                      a["approved_by"]["email"] == "priya@example.com" &&
                                      a["revision_hash"] == revision_hash(st));
    }
    EXPECT_TRUE(po_approved) << st["approvals"].dump();
    EXPECT_EQ(s.psql("prod", "SELECT family_name FROM app_public.app_user WHERE id = 3"),
              browser.canary + "\n");

    // Test data still holds the change: a to-do for the driver, apart from what waits on them.
    auto inbox = s.cli(t.dana, {"inbox"});
    ASSERT_EQ(inbox.status, 0) << inbox.out << inbox.err;
    EXPECT_NE(inbox.out.find("Waiting on you (0)"), std::string::npos) << inbox.out;
    EXPECT_NE(inbox.out.find("To tidy up (1)"), std::string::npos) << inbox.out;
    EXPECT_NE(inbox.out.find("#" + std::to_string(n) + " " + browser.title +
                             " (done): put the data in dev and test back: revert test"),
              std::string::npos)
        << inbox.out;
    auto sam = s.get(t.sam, "/api/inbox").body;
    EXPECT_TRUE(sam["to_tidy_up"].empty()) << sam.dump();
    EXPECT_TRUE(sam["yours"].empty()) << sam.dump();
    browser.request = n;
    auto tidy = browser.run("tidy");
    ASSERT_EQ(tidy.status, 0) << tidy.out << tidy.err;
    // Put back: the to-do is gone.
    for (const char* env : {"test", "dev"}) {
        auto revert = s.cli(t.dana, {"revert", std::to_string(n), env});
        ASSERT_EQ(revert.status, 0) << env << ": " << revert.out << revert.err;
    }
    auto tidied = s.cli(t.dana, {"inbox"});
    EXPECT_EQ(tidied.out.find("To tidy up"), std::string::npos) << tidied.out;
    EXPECT_TRUE(s.get(t.dana, "/api/inbox").body["to_tidy_up"].empty());

    EXPECT_TRUE(std::filesystem::exists("web-journey-inbox-390.png"));
    EXPECT_TRUE(std::filesystem::exists("web-journey-done-1280.png"));
    EXPECT_TRUE(std::filesystem::exists("web-home-tidy-390.png"));
    std::cout << "screenshots: " << std::filesystem::current_path().string()
              << "/web-journey-{inbox-1280,inbox-390,approved,done-1280,done-390}.png, "
                 "web-home-tidy-{1280,390}.png\n";
    EXPECT_FALSE(any_file_holds(s.dir(), "Sealedjourney" + std::to_string(::getpid())));
    EXPECT_EQ(s.server_log().find(browser.canary), std::string::npos);
    EXPECT_EQ(s.server_log().find(browser.user_key), std::string::npos);
}

}  // namespace datafix::e2e
