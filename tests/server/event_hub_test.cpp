// The live event hub: frames reach every watcher of a request and wake its stream; watchers are
// admitted up to the per-person and total limits, and one who leaves frees their place.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "server/event_hub.hpp"

namespace datafix::server {
namespace {

TEST(EventHub, AFrameReachesEveryWatcherAndWakesTheirStream) {
    EventHub hub;
    auto a = hub.subscribe(7, 1).subscription;
    auto b = hub.subscribe(7, 2).subscription;
    auto other = hub.subscribe(8, 3).subscription;
    int woken = 0;
    a->on_ready([&] { ++woken; });
    EXPECT_FALSE(a->next());
    hub.publish(7, "step", {{"step", "claim"}});
    EXPECT_EQ(woken, 1);
    auto frame = a->next();
    ASSERT_TRUE(frame);
    EXPECT_NE(frame->find("event: step\n"), std::string::npos) << *frame;
    EXPECT_NE(frame->find("\"step\":\"claim\""), std::string::npos) << *frame;
    EXPECT_TRUE(b->next());
    EXPECT_FALSE(other->next());
    EXPECT_FALSE(a->closed());
    hub.close_all();
    EXPECT_EQ(woken, 2);
    EXPECT_TRUE(a->closed());
}

TEST(EventHub, WatchersAreLimitedPerPersonAndInAll) {
    EventHub hub(StreamLimits{3, 2});
    auto first = hub.subscribe(1, 10);
    auto second = hub.subscribe(2, 10);
    ASSERT_TRUE(first.subscription);
    ASSERT_TRUE(second.subscription);
    auto third = hub.subscribe(1, 10);
    EXPECT_FALSE(third.subscription);
    EXPECT_EQ(third.refusal, EventHub::Refusal::person_at_limit);
    ASSERT_TRUE(hub.subscribe(1, 11).subscription);
    auto full = hub.subscribe(1, 12);
    EXPECT_FALSE(full.subscription);
    EXPECT_EQ(full.refusal, EventHub::Refusal::hub_at_limit);
    // Leaving frees the place, for the same person and for others.
    hub.unsubscribe(1, first.subscription);
    EXPECT_TRUE(hub.subscribe(1, 12).subscription);
    hub.unsubscribe(2, second.subscription);
    hub.unsubscribe(2, second.subscription);  // twice counts once
    EXPECT_TRUE(hub.subscribe(3, 10).subscription);
    EXPECT_FALSE(hub.subscribe(3, 13).subscription);
}

TEST(EventHub, AWatcherFarBehindIsDroppedRatherThanHoldingMemory) {
    EventHub hub;
    auto sub = hub.subscribe(1, 1).subscription;
    for (int i = 0; i < 1001; ++i) {
        hub.publish(1, "step", {{"n", i}});
    }
    int frames = 0;
    while (sub->next()) {
        ++frames;
    }
    EXPECT_EQ(frames, 1000);
    EXPECT_TRUE(sub->closed());
}

}  // namespace
}  // namespace datafix::server
