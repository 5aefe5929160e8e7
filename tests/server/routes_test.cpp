// The API's routes answered in-process (in_process_api.hpp: a real SQLite ledger, the real
// workflow, no socket). For each group of routes: no token or an unknown one is 401, a read-only
// token or the wrong role is 403 with the refusal's rule, an unknown route or request is 404, a
// malformed body or parameter is 400 with a message naming what is wrong; and the JSON a client
// reads (the CLI, web/) has its keys with their types. A refused step changes nothing.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "server/in_process_api.hpp"

namespace datafix::server {
namespace {

using in_process::Answer;
using in_process::expect_error;
using in_process::InProcessApi;
using nlohmann::json;

// GET routes of every group, as a client with a token would call them.
const std::vector<std::pair<std::string, std::string>> kEveryGroup = {
    {"GET", "/api/me"},
    {"GET", "/api/users"},
    {"POST", "/api/users"},
    {"GET", "/api/requests"},
    {"POST", "/api/requests"},
    {"GET", "/api/requests/1"},
    {"POST", "/api/requests/1/claim"},
    {"GET", "/api/inbox"},
    {"GET", "/api/requests/1/timeline"},
    {"GET", "/api/audit"},
    {"GET", "/api/audit/verify"},
    {"POST", "/api/requests/1/environments/dev/preview"},
    {"POST", "/api/requests/1/environments/dev/approve"},
    {"GET", "/api/requests/1/runs/1"},
};

TEST_F(InProcessApi, EveryGroupRefusesACallWithoutATokenAs401) {
    file_request();
    for (const auto& [method, path] : kEveryGroup) {
        SCOPED_TRACE(method + " " + path);
        Answer a = call(method, path, "", "{}");
        expect_error(a, 401, "unauthenticated", "token-required");
        EXPECT_NE(a.body["hint"].get<std::string>().find("DATAFIX_TOKEN"), std::string::npos);
        EXPECT_EQ(a.content_type, "application/json");
    }
    EXPECT_EQ(request_count(), 1u) << "nothing was created without a token";
}

TEST_F(InProcessApi, AnUnknownOrRevokedTokenIs401) {
    for (const auto& [method, path] : kEveryGroup) {
        SCOPED_TRACE(method + " " + path);
        expect_error(call(method, path, "dfx_" + std::string(64, '0'), "{}"), 401,
                     "unauthenticated", "token-invalid");
    }
    // Deactivated: the token stops working at once.
    ASSERT_EQ(
        call("POST", "/api/users/" + std::to_string(dev.person.id) + "/deactivate", admin.token)
            .status,
        200);
    expect_error(call("GET", "/api/me", dev.token), 401, "unauthenticated", "token-invalid");
}

TEST_F(InProcessApi, AReadOnlyTokenReadsButEveryStepIs403AndChangesNothing) {
    const auto number = file_request();
    EXPECT_EQ(call("GET", "/api/me", reader.token).status, 200);
    EXPECT_EQ(call("GET", "/api/requests", reader.token).status, 200);
    EXPECT_EQ(call("GET", "/api/inbox", reader.token).status, 200);
    EXPECT_EQ(call("GET", "/api/audit", reader.token).status, 200);
    const std::string n = std::to_string(number);
    for (const auto& [path, body] : std::vector<std::pair<std::string, json>>{
             {"/api/requests", {{"title", "another"}}},
             {"/api/requests/" + n + "/claim", json::object()},
             {"/api/requests/" + n + "/comments", {{"text", "a note"}}},
             {"/api/requests/" + n + "/cancel", json::object()},
             {"/api/requests/" + n + "/environments/dev/preview", json::object()},
             {"/api/users", {{"name", "X"}, {"email", "x@example.com"}, {"role", "admin"}}},
         }) {
        SCOPED_TRACE(path);
        Answer a = call("POST", path, reader.token, body.dump());
        expect_error(a, 403, "forbidden", "token-read-only");
        EXPECT_NE(a.body["message"].get<std::string>().find("read-only"), std::string::npos);
    }
    EXPECT_EQ(request_count(), 1u);
    Answer state = call("GET", "/api/requests/" + n, po.token);
    EXPECT_TRUE(state.body["claim"].is_null());
    EXPECT_EQ(state.body["status"], "open");
    EXPECT_EQ(call("GET", "/api/users", admin.token).body["users"].size(), 5u);
}

TEST_F(InProcessApi, TheWrongRoleIs403WithTheRefusalsRule) {
    // Only an admin manages people.
    Answer a = call("POST", "/api/users", dev.token,
                    json{{"name", "X"}, {"email", "x@example.com"}, {"role", "developer"}}.dump());
    expect_error(a, 403, "forbidden", "admin-only");
    EXPECT_EQ(call("GET", "/api/users", admin.token).body["users"].size(), 5u);
    expect_error(
        call("POST", "/api/users/" + std::to_string(po.person.id) + "/deactivate", dev.token), 403,
        "forbidden", "admin-only");
    EXPECT_EQ(call("GET", "/api/me", po.token).status, 200) << "the person is still active";

    // A request's conversation is for its people.
    const auto number = file_request();
    expect_error(call("GET", "/api/requests/" + std::to_string(number) + "/timeline", dev.token),
                 403, "forbidden", "timeline-private");
}

TEST_F(InProcessApi, AStepTheWorkflowRefusesIsAConflictWithItsRuleAndNothingChanges) {
    const auto number = file_request();
    const std::string n = std::to_string(number);
    ASSERT_EQ(call("POST", "/api/requests/" + n + "/claim", dev.token).status, 200);
    Answer second = call("POST", "/api/requests/" + n + "/claim", other.token);
    expect_error(second, 409, "rule", "claim-taken");
    // The refusal names who holds the claim, as people know them.
    EXPECT_NE(second.body["message"].get<std::string>().find("Dana Dev <dana@example.com>"),
              std::string::npos)
        << second.body.dump();
    Answer state = call("GET", "/api/requests/" + n, dev.token);
    EXPECT_EQ(state.body["claim"]["driver"]["id"], dev.person.id) << "the first claim holds";
}

TEST_F(InProcessApi, UnknownRoutesAndRequestsAre404) {
    Answer route = call("GET", "/api/nothing-here", dev.token);
    expect_error(route, 404, "not_found", "no-such-route");
    EXPECT_NE(route.body["message"].get<std::string>().find("/api/nothing-here"),
              std::string::npos);
    // A known path with a method it does not take is no route either.
    expect_error(call("POST", "/api/me", dev.token), 404, "not_found", "no-such-route");
    expect_error(call("GET", "/api/requests/abc", dev.token), 404, "not_found", "no-such-route");

    for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
             {"GET", "/api/requests/99"},
             {"POST", "/api/requests/99/claim"},
             {"POST", "/api/requests/99/comments"},
             {"GET", "/api/requests/99/timeline"},
         }) {
        SCOPED_TRACE(method + " " + path);
        Answer a = call(method, path, dev.token, json{{"text", "x"}}.dump());
        EXPECT_EQ(a.status, 404) << a.body.dump();
        EXPECT_EQ(a.body.value("error", ""), "not_found");
        EXPECT_NE(a.body.value("message", "").find("99"), std::string::npos) << a.body.dump();
    }
    expect_error(call("POST", "/api/users/999/deactivate", admin.token), 404, "not_found",
                 "user-not-found");
}

TEST_F(InProcessApi, AMalformedBodyOrParameterIs400NamingWhatIsWrong) {
    for (const std::string& body :
         {std::string("{not json"), std::string("[1, 2]"), std::string("\"a string\"")}) {
        SCOPED_TRACE(body);
        Answer a = call("POST", "/api/requests", po.token, body);
        expect_error(a, 400, "invalid_input", "malformed-json");
        EXPECT_NE(a.body["message"].get<std::string>().find("not a JSON object"),
                  std::string::npos);
    }
    // A field that is missing, or of another type, is named.
    Answer missing = call("POST", "/api/requests", po.token, json{{"reason", "r"}}.dump());
    expect_error(missing, 400, "invalid_input", "field-required");
    EXPECT_NE(missing.body.value("message", "").find("title"), std::string::npos)
        << missing.body.dump();
    Answer typed = call("POST", "/api/requests", po.token, json{{"title", 42}}.dump());
    expect_error(typed, 400, "invalid_input", "field-type");
    EXPECT_NE(typed.body.value("message", "").find("title"), std::string::npos)
        << typed.body.dump();
    EXPECT_EQ(request_count(), 0u) << "no request was created from a bad body";

    Answer role = call("POST", "/api/users", admin.token,
                       json{{"name", "X"}, {"email", "x@example.com"}, {"role", "boss"}}.dump());
    expect_error(role, 400, "invalid_input", "unknown-role");
    EXPECT_NE(role.body["message"].get<std::string>().find("boss"), std::string::npos);
    expect_error(call("POST", "/api/users", admin.token,
                      json{{"name", "X"}, {"email", "no-at-sign"}, {"role", "developer"}}.dump()),
                 400, "invalid_input", "email");
    expect_error(call("POST", "/api/users", admin.token,
                      json{{"name", "X"},
                           {"email", "x@example.com"},
                           {"role", "developer"},
                           {"scope", "write"}}
                          .dump()),
                 400, "invalid_input", "token-scope");
    EXPECT_EQ(call("GET", "/api/users", admin.token).body["users"].size(), 5u);

    expect_error(call("GET", "/api/requests?status=pending", dev.token), 400, "invalid_input",
                 "unknown-status");
    expect_error(call("GET", "/api/audit/verify?head=not-a-head", dev.token), 400, "invalid_input",
                 "audit-head");
}

TEST_F(InProcessApi, AnOversizedBodyIs400WithTheLimit) {
    const std::string big(context->config().server.max_body_bytes + 1, ' ');
    Answer a = call("POST", "/api/requests", po.token, big);
    expect_error(a, 400, "invalid_input", "body-too-large");
    EXPECT_NE(a.body["message"].get<std::string>().find(
                  std::to_string(context->config().server.max_body_bytes)),
              std::string::npos);
}

// The keys and types of a person as `datafix users` and the pages read them.
void expect_person(const json& p) {
    ASSERT_TRUE(p.is_object()) << p.dump();
    EXPECT_TRUE(p["id"].is_number_integer());
    EXPECT_TRUE(p["name"].is_string());
    EXPECT_TRUE(p["email"].is_string());
    EXPECT_TRUE(p["role"].is_string());
    EXPECT_TRUE(p["active"].is_boolean());
    EXPECT_TRUE(p["token_scope"].is_string());
    EXPECT_TRUE(p["token_expires_at"].is_string() || p["token_expires_at"].is_null());
}

TEST_F(InProcessApi, PeopleAnswersHaveTheirShape) {
    Answer me = call("GET", "/api/me", dev.token);
    EXPECT_EQ(me.status, 200);
    EXPECT_EQ(me.content_type, "application/json");
    expect_person(me.body);
    EXPECT_EQ(me.body["id"], dev.person.id);
    EXPECT_EQ(me.body["role"], "developer");
    EXPECT_EQ(me.body["token_scope"], "full");
    EXPECT_EQ(call("GET", "/api/me", reader.token).body["token_scope"], "read");

    Answer users = call("GET", "/api/users", dev.token);
    ASSERT_TRUE(users.body["users"].is_array());
    ASSERT_EQ(users.body["users"].size(), 5u);
    for (const json& p : users.body["users"]) {
        expect_person(p);
    }

    Answer created = call("POST", "/api/users", admin.token,
                          json{{"name", "Nia New"},
                               {"email", "nia@example.com"},
                               {"role", "product_owner"},
                               {"scope", "read"},
                               {"days", 3}}
                              .dump());
    EXPECT_EQ(created.status, 201) << created.body.dump();
    expect_person(created.body["user"]);
    EXPECT_EQ(created.body["user"]["role"], "product_owner");
    EXPECT_EQ(created.body["user"]["token_scope"], "read");
    ASSERT_TRUE(created.body["token"].is_string());
    // The token shown once works, and only for reading.
    const std::string token = created.body["token"];
    EXPECT_EQ(call("GET", "/api/me", token).body["email"], "nia@example.com");
    expect_error(call("POST", "/api/requests", token, json{{"title", "t"}}.dump()), 403,
                 "forbidden", "token-read-only");
}

TEST_F(InProcessApi, RequestAnswersHaveTheirShape) {
    Answer created = call("POST", "/api/requests", po.token,
                          json{{"title", "fix an intake name"},
                               {"reason", "asked by email"},
                               {"requested_date", "2024-05-01"},
                               {"ticket", "https://tickets.example.com/1"}}
                              .dump());
    ASSERT_EQ(created.status, 201) << created.body.dump();
    const json& s = created.body;
    EXPECT_TRUE(s["number"].is_number_integer());
    EXPECT_EQ(s["title"], "fix an intake name");
    EXPECT_EQ(s["status"], "open");
    EXPECT_EQ(s["reason"], "asked by email");
    EXPECT_EQ(s["requested_date"], "2024-05-01");
    EXPECT_EQ(s["ticket"], "https://tickets.example.com/1");
    EXPECT_TRUE(s["created_at"].is_string());
    EXPECT_TRUE(s["version"].is_number_integer());
    EXPECT_TRUE(s["claim"].is_null());
    EXPECT_TRUE(s["pair"].is_null());
    EXPECT_TRUE(s["revision"].is_null());
    ASSERT_TRUE(s["created_by"].is_object());
    EXPECT_EQ(s["created_by"]["id"], po.person.id);
    const std::string n = std::to_string(s["number"].get<std::int64_t>());

    // A claim is shown with its driver and lease.
    Answer claimed = call("POST", "/api/requests/" + n + "/claim", dev.token);
    ASSERT_EQ(claimed.status, 200) << claimed.body.dump();
    Answer state = call("GET", "/api/requests/" + n, dev.token);
    ASSERT_TRUE(state.body["claim"].is_object());
    EXPECT_EQ(state.body["claim"]["driver"]["id"], dev.person.id);
    EXPECT_TRUE(state.body["claim"]["lease_expires_at"].is_string());
    EXPECT_EQ(state.body["claim"]["active"], true);
    EXPECT_TRUE(state.body["undelivered"].is_array() || state.body["undelivered"].is_object())
        << state.body["undelivered"].dump();
    EXPECT_GT(state.body["version"].get<std::int64_t>(), s["version"].get<std::int64_t>());
    // The reason is private to the request's people: someone else sees the request without it.
    Answer outsider = call("GET", "/api/requests/" + n, other.token);
    EXPECT_EQ(outsider.status, 200);
    EXPECT_TRUE(outsider.body["reason"].is_null());
    // ... and told that it is private, which `datafix show` and the page print instead.
    EXPECT_TRUE(outsider.body.contains("reason_private")) << outsider.body.dump();
    EXPECT_FALSE(state.body.contains("reason_private"));

    Answer list = call("GET", "/api/requests?status=open", other.token);
    ASSERT_TRUE(list.body["requests"].is_array());
    ASSERT_EQ(list.body["requests"].size(), 1u);
    const json& row = list.body["requests"][0];
    EXPECT_EQ(row["number"], s["number"]);
    EXPECT_EQ(row["title"], "fix an intake name");
    EXPECT_EQ(row["status"], "open");
    EXPECT_EQ(row["driver"]["id"], dev.person.id);
    EXPECT_TRUE(row["pair"].is_null());
    EXPECT_TRUE(row["version"].is_number_integer());
    EXPECT_FALSE(row.contains("reason")) << "a list never carries the private reason";
    EXPECT_TRUE(call("GET", "/api/requests?status=done", other.token).body["requests"].empty());
}

TEST_F(InProcessApi, InboxTimelineAndAuditAnswersHaveTheirShape) {
    const auto number = file_request();
    const std::string n = std::to_string(number);
    Answer inbox = call("GET", "/api/inbox", dev.token);
    ASSERT_EQ(inbox.status, 200) << inbox.body.dump();
    for (const char* key : {"waiting_on_you", "yours", "open", "to_tidy_up"}) {
        ASSERT_TRUE(inbox.body[key].is_array()) << key << ": " << inbox.body.dump();
    }
    ASSERT_EQ(inbox.body["open"].size(), 1u);
    const json& item = inbox.body["open"][0];
    EXPECT_EQ(item["number"], number);
    EXPECT_TRUE(item["title"].is_string());
    EXPECT_TRUE(item["requested_date"].is_string());
    // `datafix inbox` and the home page print the next step: what, and whose it is.
    ASSERT_TRUE(item["next"].is_object()) << item.dump();
    EXPECT_TRUE(item["next"]["what"].is_string());
    EXPECT_FALSE(item["next"]["what"].get<std::string>().empty());
    EXPECT_TRUE(item["next"]["owner"].is_string());
    // Nobody claimed it: it waits on a developer, not on the product owner who filed it.
    EXPECT_TRUE(call("GET", "/api/inbox", po.token).body["waiting_on_you"].empty());

    ASSERT_EQ(call("POST", "/api/requests/" + n + "/comments", po.token,
                   json{{"text", "please look at application 4"}}.dump())
                  .status,
              200);
    Answer timeline = call("GET", "/api/requests/" + n + "/timeline", po.token);
    ASSERT_EQ(timeline.status, 200) << timeline.body.dump();
    ASSERT_TRUE(timeline.body["entries"].is_array());
    ASSERT_TRUE(timeline.body["comments"].is_array());
    ASSERT_EQ(timeline.body["comments"].size(), 1u);
    EXPECT_EQ(timeline.body["comments"][0]["text"], "please look at application 4");
    EXPECT_EQ(timeline.body["comments"][0]["author"]["id"], po.person.id);
    EXPECT_TRUE(timeline.body["comments"][0]["at"].is_string());

    Answer audit = call("GET", "/api/audit?request=" + n, dev.token);
    ASSERT_TRUE(audit.body["entries"].is_array());
    ASSERT_GE(audit.body["entries"].size(), 2u);
    for (const json& e : audit.body["entries"]) {
        EXPECT_TRUE(e["seq"].is_number_integer());
        EXPECT_TRUE(e["at"].is_string());
        EXPECT_TRUE(e["action"].is_string());
        EXPECT_EQ(e["request"], number);
        EXPECT_TRUE(e["hash"].is_string());
        EXPECT_EQ(e["hash"].get<std::string>().size(), 64u);
        // The comment's text is private: the trail never carries it.
        EXPECT_EQ(e.dump().find("application 4"), std::string::npos);
    }
    Answer verify = call("GET", "/api/audit/verify", dev.token);
    EXPECT_EQ(verify.body["intact"], true);
    EXPECT_EQ(verify.body["verifiable"], true);
    EXPECT_TRUE(verify.body["entries"].is_number_integer());
    EXPECT_TRUE(verify.body["head"].is_string());
    // The head just read checks out as a published anchor.
    Answer anchored =
        call("GET", "/api/audit/verify?head=" + verify.body["head"].get<std::string>(), dev.token);
    EXPECT_EQ(anchored.body["intact"], true) << anchored.body.dump();
    EXPECT_EQ(anchored.body["head_checked"], true);
}

TEST_F(InProcessApi, ARunIsRefusedBeforeAnyDatabaseIsTouched) {
    const auto number = file_request();
    const std::string n = std::to_string(number);
    // Nobody drives it and it has no revision: the workflow refuses the preview, no run starts.
    Answer preview = call("POST", "/api/requests/" + n + "/environments/dev/preview", dev.token);
    EXPECT_EQ(preview.status, 409) << preview.body.dump();
    EXPECT_EQ(preview.body.value("error", ""), "rule");
    EXPECT_FALSE(preview.body.value("rule", "").empty());
    EXPECT_TRUE(call("GET", "/api/requests/" + n, dev.token).body["runs"].empty());
    // Apply names the evidence it applies; without it the body is refused first.
    expect_error(call("POST", "/api/requests/" + n + "/environments/dev/apply", dev.token, "{}"),
                 400, "invalid_input", "field-required");
    // Unknown request, unknown run.
    Answer unknown = call("POST", "/api/requests/99/environments/dev/preview", dev.token);
    EXPECT_EQ(unknown.status, 404) << unknown.body.dump();
    EXPECT_EQ(unknown.body.value("error", ""), "not_found");
    expect_error(call("GET", "/api/requests/" + n + "/runs/1", po.token), 404, "not_found",
                 "run-not-found");
}

TEST_F(InProcessApi, ReadinessAndMetricsForThePlatform) {
    Answer ready = call("GET", "/readyz", "");
    EXPECT_EQ(ready.status, 200) << ready.body.dump();
    EXPECT_EQ(ready.body["status"], "ready");
    EXPECT_EQ(ready.body["migrations"], "current");
    EXPECT_EQ(ready.body["schema_version"], ready.body["server_schema_version"]);

    file_request();
    Request req;
    req.method = "GET";
    req.path = "/metrics";
    Response res;
    answer(router, req, res, context->log());
    EXPECT_EQ(res.status, 200);
    EXPECT_NE(res.body.find("datafix_requests{status=\"open\"} 1\n"), std::string::npos)
        << res.body;
    EXPECT_NE(res.body.find("datafix_notifications_undelivered 0\n"), std::string::npos);
}

}  // namespace
}  // namespace datafix::server
