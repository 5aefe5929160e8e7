// GET /api/requests/N/events (routes_events.cpp) answered in-process: the stream a pair watches
// (`datafix watch`, the request page). Who may open one, the frames a watcher reads (the opening
// state, then each step with its actor and version, nothing private), and the limits per person
// and per server with their refusals; a stream that goes away frees its place.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "server/in_process_api.hpp"

namespace datafix::server {
namespace {

using in_process::Answer;
using in_process::expect_error;
using in_process::InProcessApi;
using nlohmann::json;

struct Frame {
    std::string event;
    json data;
};

// The next event of a stream, past any keep-alive comment; an empty event when the stream has
// nothing queued or ended.
Frame next_frame(BodyStream& stream) {
    for (;;) {
        std::string out;
        if (stream.read(out) != BodyStream::Next::data) {
            return {};
        }
        if (out.rfind(":", 0) == 0) {
            continue;  // a keep-alive comment
        }
        // "id: N", "event: TYPE", "data: JSON", then a blank line.
        EXPECT_TRUE(out.ends_with("\n\n")) << out;
        Frame f;
        std::istringstream lines(out);
        for (std::string line; std::getline(lines, line);) {
            if (line.rfind("event: ", 0) == 0) {
                f.event = line.substr(7);
            } else if (line.rfind("data: ", 0) == 0) {
                f.data = json::parse(line.substr(6), nullptr, false);
            }
        }
        EXPECT_FALSE(f.event.empty()) << out;
        EXPECT_TRUE(f.data.is_object()) << out;
        return f;
    }
}

class EventRoutes : public InProcessApi {
  protected:
    // Small limits, so reaching them takes a few streams.
    std::string config_text() const override {
        const std::string rest = std::string(in_process::kDevOnlyConfig).substr(9);
        return "[server]\nmax_streams = 3\nmax_streams_per_person = 2\n" + rest;
    }

    Answer watch(std::int64_t number, const std::string& token) {
        return call("GET", "/api/requests/" + std::to_string(number) + "/events", token);
    }
};

TEST_F(EventRoutes, AWatcherReadsTheRequestsStateThenEachStepAsItHappens) {
    const auto number = file_request();
    const std::string n = std::to_string(number);
    const json state = call("GET", "/api/requests/" + n, po.token).body;

    // Omar is not one of the request's people: watching shows steps, never private data.
    Answer a = watch(number, other.token);
    ASSERT_EQ(a.status, 200) << a.body.dump();
    EXPECT_EQ(a.content_type, "text/event-stream");
    EXPECT_EQ(a.header("Cache-Control"), "no-store");
    EXPECT_EQ(a.header("X-Accel-Buffering"), "no");
    ASSERT_TRUE(a.stream);
    bool woken = false;
    a.stream->start([&woken] { woken = true; });

    Frame hello = next_frame(*a.stream);
    EXPECT_EQ(hello.event, "watching");
    EXPECT_EQ(hello.data["type"], "watching");
    EXPECT_EQ(hello.data["request"], number);
    EXPECT_EQ(hello.data["version"], state["version"]);
    EXPECT_EQ(hello.data["status"], "open");
    EXPECT_EQ(hello.data["watcher"], "Omar Dev");

    ASSERT_EQ(call("POST", "/api/requests/" + n + "/claim", dev.token).status, 200);
    EXPECT_TRUE(woken) << "a step wakes the waiting stream";
    Frame claim = next_frame(*a.stream);
    EXPECT_EQ(claim.event, "step");
    EXPECT_EQ(claim.data["step"], "claim");
    EXPECT_EQ(claim.data["actor"]["id"], dev.person.id);
    EXPECT_EQ(claim.data["actor"]["name"], "Dana Dev");
    EXPECT_GT(claim.data["version"].get<std::int64_t>(), state["version"].get<std::int64_t>());
    ASSERT_TRUE(claim.data["audit"].is_array());
    ASSERT_FALSE(claim.data["audit"].empty());
    EXPECT_TRUE(claim.data["audit"][0]["action"].is_string());

    // A comment is a step too; its text is private to the request's people.
    ASSERT_EQ(call("POST", "/api/requests/" + n + "/comments", po.token,
                   json{{"text", "applicant 4711 called again"}}.dump())
                  .status,
              200);
    Frame comment = next_frame(*a.stream);
    EXPECT_EQ(comment.event, "step");
    EXPECT_EQ(comment.data["actor"]["id"], po.person.id);
    EXPECT_EQ(comment.data.dump().find("4711"), std::string::npos) << comment.data.dump();
    EXPECT_EQ(comment.data.dump().find("asked by email"), std::string::npos)
        << "the private reason never reaches a watcher";

    // A refused step is no event.
    ASSERT_EQ(call("POST", "/api/requests/" + n + "/claim", other.token).status, 409);
    EXPECT_TRUE(next_frame(*a.stream).event.empty());
    // Only this request's steps reach its watchers.
    const auto another = file_request("another request");
    ASSERT_EQ(
        call("POST", "/api/requests/" + std::to_string(another) + "/claim", other.token).status,
        200);
    EXPECT_TRUE(next_frame(*a.stream).event.empty());
}

TEST_F(EventRoutes, ReadOnlyTokensWatchAndNoTokenUnknownRequestsAndNoRoleAreRefused) {
    const auto number = file_request();
    Answer reading = watch(number, reader.token);
    EXPECT_EQ(reading.status, 200) << reading.body.dump();
    ASSERT_TRUE(reading.stream);
    EXPECT_EQ(next_frame(*reading.stream).data["watcher"], "Rae Reader");

    Answer none = watch(number, "");
    expect_error(none, 401, "unauthenticated", "token-required");
    EXPECT_FALSE(none.stream);
    expect_error(watch(number, "dfx_" + std::string(64, '0')), 401, "unauthenticated",
                 "token-invalid");
    Answer unknown = watch(99, dev.token);
    expect_error(unknown, 404, "not_found", "request-not-found");
    EXPECT_NE(unknown.body["message"].get<std::string>().find("99"), std::string::npos);
    EXPECT_FALSE(unknown.stream);

    // Someone with no role yet watches only the requests they are a member of.
    auto roleless = context->with_ledger([](ledger::Ledger& l) {
        model::AuditEvent event;
        event.at = model::wall_clock_now();
        return l.create_user({"Nia None", "nia@example.com", model::Role::none}, event);
    });
    context->forget_people();
    Answer refused = watch(number, roleless.token);
    expect_error(refused, 403, "forbidden", "no-role");
    EXPECT_FALSE(refused.stream);
}

TEST_F(EventRoutes, StreamsAreLimitedPerPersonAndPerServerAndAClosedOneFreesItsPlace) {
    const auto number = file_request();
    Answer first = watch(number, dev.token);
    Answer second = watch(number, dev.token);
    ASSERT_EQ(first.status, 200);
    ASSERT_EQ(second.status, 200);
    Answer third = watch(number, dev.token);
    expect_error(third, 429, "too_many", "streams-per-person");
    EXPECT_NE(third.body["message"].get<std::string>().find("you have 2 live event streams open"),
              std::string::npos)
        << third.body.dump();
    EXPECT_NE(third.body["hint"].get<std::string>().find("close a datafix watch"),
              std::string::npos);
    EXPECT_FALSE(third.stream);

    // Omar takes the server's last place; then nobody else gets one.
    Answer omar = watch(number, other.token);
    ASSERT_EQ(omar.status, 200);
    Answer full = watch(number, po.token);
    expect_error(full, 503, "busy", "streams-full");
    EXPECT_NE(full.body["message"].get<std::string>().find("the server has 3 live event streams"),
              std::string::npos)
        << full.body.dump();
    EXPECT_NE(full.body["hint"].get<std::string>().find("max_streams"), std::string::npos);

    // A watcher that leaves (its stream destroyed) frees its place at once.
    first.stream.reset();
    Answer again = watch(number, po.token);
    EXPECT_EQ(again.status, 200) << again.body.dump();
    ASSERT_TRUE(again.stream);
    EXPECT_EQ(next_frame(*again.stream).event, "watching");
    // The remaining streams still follow the request.
    ASSERT_EQ(call("POST", "/api/requests/" + std::to_string(number) + "/claim", dev.token).status,
              200);
    for (Answer* a : {&second, &omar, &again}) {
        if (a != &again) {
            EXPECT_EQ(next_frame(*a->stream).event, "watching");
        }
        EXPECT_EQ(next_frame(*a->stream).data["step"], "claim");
    }
}

}  // namespace
}  // namespace datafix::server
