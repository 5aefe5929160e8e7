// for_each_item: every item once, on threads that can do what the caller's can, and a failure
// reported to the caller.
#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <vector>

#include "core/threads.hpp"

namespace datafix {
namespace {

constexpr std::size_t kStack = 8 * 1024 * 1024;

TEST(Threads, EveryItemRunsExactlyOnce) {
    std::vector<std::atomic<int>> runs(1000);
    for_each_item(runs.size(), 4, kStack, [&](std::size_t i) { runs[i]++; });
    for (std::size_t i = 0; i < runs.size(); ++i) {
        ASSERT_EQ(runs[i].load(), 1) << "item " << i;
    }
}

TEST(Threads, ItemsRunOnMoreThanTheCallersThreadWhenAsked) {
    std::mutex mutex;
    std::set<pthread_t> seen;
    std::atomic<int> waiting{0};
    // Each of the two items waits until both have started, which only two threads can do.
    for_each_item(2, 2, kStack, [&](std::size_t) {
        {
            std::lock_guard<std::mutex> lock(mutex);
            seen.insert(pthread_self());
        }
        waiting++;
        while (waiting.load() < 2) {
        }
    });
    EXPECT_EQ(seen.size(), 2U);
}

TEST(Threads, OneThreadRunsItemsInOrderOnTheCaller) {
    std::vector<std::size_t> order;
    pthread_t caller = pthread_self();
    for_each_item(5, 1, kStack, [&](std::size_t i) {
        EXPECT_TRUE(pthread_equal(pthread_self(), caller));
        order.push_back(i);
    });
    EXPECT_EQ(order, (std::vector<std::size_t>{0, 1, 2, 3, 4}));
}

TEST(Threads, AFailingItemIsRethrownAndLaterItemsAreSkipped) {
    std::atomic<int> ran{0};
    EXPECT_THROW(for_each_item(1000, 1, kStack,
                               [&](std::size_t i) {
                                   ran++;
                                   if (i == 3) {
                                       throw std::runtime_error("item 3 failed");
                                   }
                               }),
                 std::runtime_error);
    EXPECT_EQ(ran.load(), 4);
}

TEST(Threads, AnExtraThreadHasTheStackItWasGiven) {
    pthread_t caller = pthread_self();
    std::atomic<int> started{0};
    std::atomic<std::size_t> extra_stack{0};
    for_each_item(2, 2, kStack, [&](std::size_t) {
        started++;
        while (started.load() < 2) {
        }
        if (!pthread_equal(pthread_self(), caller)) {
            pthread_attr_t attributes;
            std::size_t size = 0;
            if (pthread_getattr_np(pthread_self(), &attributes) == 0) {
                pthread_attr_getstacksize(&attributes, &size);
                pthread_attr_destroy(&attributes);
            }
            extra_stack = size;
        }
    });
    EXPECT_GE(extra_stack.load(), kStack);
}

TEST(Threads, WorkerThreadsStaysWithinItsLimit) {
    EXPECT_GE(worker_threads(4), 1U);
    EXPECT_LE(worker_threads(4), 4U);
    EXPECT_EQ(worker_threads(1), 1U);
    EXPECT_EQ(worker_threads(0), 1U);
}

}  // namespace
}  // namespace datafix
