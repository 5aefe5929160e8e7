// The web pages in a real browser: a real `datafix server` on the harness's clusters (the e2e
// fixture), a request walked through the runbook by the API, and tests/web/pages.test.mjs driving
// headless Chromium for the pair's and the product owner's steps, and a 40-row preview read in
// pages. Each browser phase's checks are in the script; here: the server state before and after
// them. Screenshots (1280 px and 390 px wide) land in the test's working directory, the build's
// tests/ folder.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>

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
    std::string user_key;  // the changed row's display key (app_user's email_address)
    std::string old_name;  // its family_name before the change

    testing::ProcessResult run(const std::string& phase) const {
        std::string shots = std::filesystem::current_path().string();
        return testing::run_process(
            {"env", "DATAFIX_URL=" + url, "DATAFIX_REQUEST=" + std::to_string(request),
             "DATAFIX_CANARY=" + canary, "DATAFIX_SCREENSHOT_DIR=" + shots,
             "DATAFIX_TOKEN_PAIR=" + team.sam, "DATAFIX_TOKEN_DRIVER=" + team.dana,
             "DATAFIX_TOKEN_PO=" + team.po, "DATAFIX_TOKEN_OUTSIDER=" + outsider,
             "DATAFIX_TITLE=" + title, "DATAFIX_REASON=" + reason, "DATAFIX_USER_KEY=" + user_key,
             "DATAFIX_OLD_NAME=" + old_name, "node", kScript, phase});
    }
};

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
    // The driver's inbox has nothing waiting on them: the approval is the pair's.
    auto dana = s.get(t.dana, "/api/inbox").body;
    EXPECT_TRUE(dana["waiting_on_you"].empty()) << dana.dump();
    EXPECT_EQ(dana["yours"].size(), 1u) << dana.dump();
    EXPECT_TRUE(std::filesystem::exists("web-home-1280.png"));
    EXPECT_TRUE(std::filesystem::exists("web-home-390.png"));
    std::cout << "screenshots: " << std::filesystem::current_path().string()
              << "/web-home-{1280,390}.png\n";
    EXPECT_EQ(s.server_log().find(browser.canary), std::string::npos);
}

}  // namespace datafix::e2e
