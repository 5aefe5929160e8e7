// `datafix inbox` through a real server: what waits on each person, their requests and every open
// one, each with its next step in words and its owner by name.
#include <gtest/gtest.h>

#include "runbook_steps.hpp"

namespace datafix::e2e {

namespace {

std::size_t count_of(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
        ++n;
    }
    return n;
}

}  // namespace

TEST(Inbox, EachPersonSeesWhatWaitsOnThemTheirRequestsAndAllOpenOnes) {
    ServerFixture s;
    Team t = make_team(s);
    std::string outsider = s.add_person("Olu Outsider", "olu@example.com", "developer");
    long long waiting = file_request(s, t);
    prepare(s, t, waiting);
    ASSERT_EQ(s.post(t.dana, env_path(waiting, "dev", "preview"), {}).status, 200);
    Answer other = s.post(t.po, "/api/requests",
                          {{"title", "Remove a duplicate intake"},
                           {"reason", "asked by mail"},
                           {"requested_date", "2026-12-02"}});
    ASSERT_EQ(other.status, 201);

    auto sam = s.cli(t.sam, {"inbox"});
    ASSERT_EQ(sam.status, 0) << sam.err;
    EXPECT_NE(sam.out.find("Waiting on you (1)"), std::string::npos) << sam.out;
    EXPECT_NE(sam.out.find("Yours (1)"), std::string::npos) << sam.out;
    EXPECT_NE(sam.out.find("All open (2)"), std::string::npos) << sam.out;
    // The waiting approval, in the first two lists and the list of all.
    EXPECT_EQ(count_of(sam.out, "approve the evidence of preview #1 in dev"), 3u) << sam.out;
    EXPECT_EQ(count_of(sam.out, "Sam Pair (pair)"), 3u) << sam.out;
    EXPECT_NE(sam.out.find("a developer claims the request to drive it"), std::string::npos)
        << sam.out;
    EXPECT_NE(sam.out.find("any developer"), std::string::npos) << sam.out;

    auto priya = s.cli(t.po, {"inbox"});
    ASSERT_EQ(priya.status, 0) << priya.err;
    EXPECT_NE(priya.out.find("Waiting on you (0)"), std::string::npos) << priya.out;
    EXPECT_NE(priya.out.find("nothing waits on you"), std::string::npos) << priya.out;
    EXPECT_NE(priya.out.find("Yours (2)"), std::string::npos) << priya.out;

    auto dana = s.cli(t.dana, {"inbox", "--output", "json"});
    ASSERT_EQ(dana.status, 0) << dana.err;
    nlohmann::json view = nlohmann::json::parse(dana.out);
    EXPECT_TRUE(view["waiting_on_you"].empty()) << dana.out;
    ASSERT_EQ(view["yours"].size(), 1u) << dana.out;
    EXPECT_EQ(view["yours"][0]["number"], waiting);
    EXPECT_EQ(view["yours"][0]["next"]["step"], "approve");
    EXPECT_EQ(view["yours"][0]["next"]["owner"], "pair");
    EXPECT_EQ(view["yours"][0]["next"]["person"]["name"], "Sam Pair");
    EXPECT_EQ(view["open"].size(), 2u);
    // The inbox carries no reason: it is for the request's people, and stays behind show.
    EXPECT_EQ(dana.out.find("asked by"), std::string::npos) << dana.out;

    auto olu = s.get(outsider, "/api/inbox").body;
    EXPECT_TRUE(olu["waiting_on_you"].empty());
    EXPECT_TRUE(olu["yours"].empty());
    EXPECT_EQ(olu["open"].size(), 2u);

    // Without a token: the usual refusal, nothing shown.
    auto anonymous = s.cli("", {"inbox"});
    EXPECT_EQ(anonymous.status, 11) << anonymous.out << anonymous.err;
    EXPECT_EQ(anonymous.out.find("Waiting on you"), std::string::npos);
}

}  // namespace datafix::e2e
