// The outbox behaviour every ledger backend must show, written once and run on SQLite
// (notifications_test.cpp) and on PostgreSQL (postgresql_notifications_test.cpp).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "ledger/ledger.hpp"
#include "ledger_fixture.hpp"

namespace datafix::ledger::testing {

using namespace std::chrono_literals;

// A rendered message as notify stores it: normalized text only.
inline NewNotificationRow outbox_row(std::optional<RequestNumber> request, std::string channel,
                                     std::string recipient) {
    NewNotificationRow row;
    row.event = "prod_applied";
    row.request = request;
    row.channel = std::move(channel);
    row.recipient = std::move(recipient);
    row.payload =
        R"({"subject":"[datafix] #1 applied in prod","text":"UPDATE app_public.intake SET name = $1 WHERE id = $2\nrows: 1","link":"https://datafix.example.com/requests/1"})";
    return row;
}

inline std::vector<NotificationId> ids_of(const std::vector<NotificationRow>& rows) {
    std::vector<NotificationId> ids;
    for (const auto& row : rows) {
        ids.push_back(row.id);
    }
    return ids;
}

// Queue, claim (lease), fail, retry, deliver; `request` is an existing request.
inline void check_outbox_lifecycle(Ledger& ledger, RequestNumber request) {
    const NotificationId a =
        ledger.enqueue_notification(outbox_row(request, "mail", "pat.owner@example.com"), at(0));
    const NotificationId b =
        ledger.enqueue_notification(outbox_row(std::nullopt, "team", ""), at(1));
    const NotificationId c =
        ledger.enqueue_notification(outbox_row(request, "mail", "dana.driver@example.com"), at(2));

    auto all = ledger.undelivered_notifications();
    ASSERT_EQ(ids_of(all), (std::vector<NotificationId>{a, b, c}));
    EXPECT_EQ(all[0].content, outbox_row(request, "mail", "pat.owner@example.com"));
    EXPECT_EQ(all[0].created_at, at(0));
    EXPECT_EQ(all[0].next_attempt_at, at(0));
    EXPECT_EQ(all[0].attempts, 0);
    EXPECT_FALSE(all[0].delivered_at.has_value());
    EXPECT_EQ(all[0].last_error, "");
    EXPECT_EQ(all[1].content.request, std::nullopt);
    EXPECT_EQ(ids_of(ledger.undelivered_notifications(request)),
              (std::vector<NotificationId>{a, c}));
    EXPECT_TRUE(ledger.undelivered_notifications(request + 1000).empty());

    // Only what is due, and each claim leases what it returns.
    EXPECT_EQ(ids_of(ledger.claim_due_notifications(at(0), 10, 60s)),
              (std::vector<NotificationId>{a}));
    auto second = ledger.claim_due_notifications(at(5), 10, 60s);
    ASSERT_EQ(ids_of(second), (std::vector<NotificationId>{b, c}));
    EXPECT_EQ(second[0].next_attempt_at, at(65));
    EXPECT_EQ(second[0].attempts, 0);
    EXPECT_TRUE(ledger.claim_due_notifications(at(5), 10, 60s).empty());

    EXPECT_TRUE(ledger.mark_notification_delivered(b, at(6)));
    EXPECT_FALSE(ledger.mark_notification_delivered(b, at(7)));  // already out
    EXPECT_FALSE(ledger.mark_notification_failed(b, "late", at(8)));
    EXPECT_TRUE(ledger.mark_notification_failed(c, "smtp: connection refused", at(100)));

    // `a` was claimed by a dispatcher that never came back: due again when its lease ends.
    EXPECT_TRUE(ledger.claim_due_notifications(at(59), 10, 60s).empty());
    auto reclaimed = ledger.claim_due_notifications(at(60), 10, 60s);
    ASSERT_EQ(ids_of(reclaimed), (std::vector<NotificationId>{a}));
    EXPECT_EQ(reclaimed[0].attempts, 0);

    auto pending = ledger.undelivered_notifications();
    ASSERT_EQ(ids_of(pending), (std::vector<NotificationId>{a, c}));
    EXPECT_EQ(pending[1].attempts, 1);
    EXPECT_EQ(pending[1].last_error, "smtp: connection refused");
    EXPECT_EQ(pending[1].next_attempt_at, at(100));

    // The retry succeeds: delivered, error cleared, both attempts counted.
    EXPECT_EQ(ids_of(ledger.claim_due_notifications(at(100), 10, 60s)),
              (std::vector<NotificationId>{c}));
    EXPECT_TRUE(ledger.mark_notification_delivered(c, at(101)));
    EXPECT_EQ(ids_of(ledger.undelivered_notifications(request)), (std::vector<NotificationId>{a}));
    EXPECT_TRUE(ledger.mark_notification_delivered(a, at(102)));
    EXPECT_TRUE(ledger.undelivered_notifications().empty());
    EXPECT_TRUE(ledger.claim_due_notifications(at(10'000), 10, 60s).empty());
}

// Oldest due first, `limit` at a time; a row that failed waits behind one queued after it but
// due earlier.
inline void check_claim_order_and_limit(Ledger& ledger) {
    std::vector<NotificationId> ids;
    for (int i = 0; i < 5; ++i) {
        ids.push_back(ledger.enqueue_notification(outbox_row(std::nullopt, "team", ""), at(0)));
    }
    EXPECT_EQ(ids_of(ledger.claim_due_notifications(at(0), 2, 1h)),
              (std::vector<NotificationId>{ids[0], ids[1]}));
    EXPECT_EQ(ids_of(ledger.claim_due_notifications(at(0), 2, 1h)),
              (std::vector<NotificationId>{ids[2], ids[3]}));
    EXPECT_EQ(ids_of(ledger.claim_due_notifications(at(0), 0, 1h)),
              (std::vector<NotificationId>{}));
    EXPECT_EQ(ids_of(ledger.claim_due_notifications(at(0), 2, 1h)),
              (std::vector<NotificationId>{ids[4]}));
    for (NotificationId id : ids) {
        ledger.mark_notification_delivered(id, at(1));
    }

    const NotificationId failed =
        ledger.enqueue_notification(outbox_row(std::nullopt, "team", ""), at(0));
    ledger.claim_due_notifications(at(0), 1, 1h);
    ledger.mark_notification_failed(failed, "webhook: HTTP 500", at(10));
    const NotificationId later =
        ledger.enqueue_notification(outbox_row(std::nullopt, "team", ""), at(5));
    EXPECT_EQ(ids_of(ledger.claim_due_notifications(at(20), 1, 1h)),
              (std::vector<NotificationId>{later}));
    EXPECT_EQ(ids_of(ledger.claim_due_notifications(at(20), 1, 1h)),
              (std::vector<NotificationId>{failed}));

    EXPECT_THROW(ledger.claim_due_notifications(at(20), 1, 0ms), std::exception);
}

// A claim names its owner (server instance and incarnation) until a heartbeat-renewed expiry.
// Rows whose owner is gone — an earlier life of the same instance, or an owner whose heartbeat
// lapsed — are due again at once; a live owner's rows only when the delivery lease ends.
inline void check_reclaim_from_owners_gone(Ledger& ledger) {
    const NotificationClaim a_first{"server-a", "a-first-life", at(30)};
    const NotificationClaim a_second{"server-a", "a-second-life", at(70)};
    const NotificationClaim b{"server-b", "b-life", at(30)};
    std::vector<NotificationId> ids;
    for (int i = 0; i < 3; ++i) {
        ids.push_back(ledger.enqueue_notification(outbox_row(std::nullopt, "team", ""), at(0)));
    }
    auto by_a = ledger.claim_due_notifications(at(0), 2, 1h, a_first);
    ASSERT_EQ(ids_of(by_a), (std::vector<NotificationId>{ids[0], ids[1]}));
    EXPECT_EQ(by_a[0].claim, a_first);
    EXPECT_EQ(by_a[0].next_attempt_at, at(3600));
    ASSERT_EQ(ids_of(ledger.claim_due_notifications(at(0), 10, 1h, b)),
              (std::vector<NotificationId>{ids[2]}));

    // Nobody is gone: each owner's own incarnation reclaims nothing, of its own or the other's.
    EXPECT_EQ(ledger.reclaim_notifications("server-a", "a-first-life", at(10)), 0);
    EXPECT_EQ(ledger.reclaim_notifications("server-b", "b-life", at(10)), 0);
    // B's heartbeat vouches for its claim past the first expiry.
    ledger.renew_run_leases("b-life", at(90));

    EXPECT_TRUE(ledger.holds_notification_claim(ids[0], "a-first-life"));
    EXPECT_FALSE(ledger.holds_notification_claim(ids[0], "b-life"));

    // Server A starts again: its earlier life's rows are due at once; B's stay B's.
    EXPECT_EQ(ledger.reclaim_notifications("server-a", "a-second-life", at(40)), 2);
    EXPECT_FALSE(ledger.holds_notification_claim(ids[0], "a-first-life"));
    auto pending = ledger.undelivered_notifications();
    ASSERT_EQ(pending.size(), 3u);
    EXPECT_EQ(pending[0].claim, std::nullopt);
    EXPECT_EQ(pending[0].next_attempt_at, at(40));
    EXPECT_EQ(pending[2].claim, (NotificationClaim{"server-b", "b-life", at(90)}));
    EXPECT_EQ(ids_of(ledger.claim_due_notifications(at(40), 10, 1h, a_second)),
              (std::vector<NotificationId>{ids[0], ids[1]}));

    // B stops renewing (killed): once its claim lapses, A takes its row; A's own stay.
    EXPECT_EQ(ledger.reclaim_notifications("server-a", "a-second-life", at(89)), 0);
    EXPECT_EQ(ledger.reclaim_notifications("server-a", "a-second-life", at(90)), 1);
    EXPECT_EQ(ids_of(ledger.claim_due_notifications(at(90), 10, 1h, a_second)),
              (std::vector<NotificationId>{ids[2]}));

    // Marking a row ends its claim; a delivered row is never reclaimed.
    EXPECT_TRUE(ledger.holds_notification_claim(ids[2], "a-second-life"));
    EXPECT_TRUE(ledger.mark_notification_delivered(ids[2], at(91)));
    EXPECT_FALSE(ledger.holds_notification_claim(ids[2], "a-second-life"));
    EXPECT_TRUE(ledger.mark_notification_failed(ids[0], "webhook: HTTP 500", at(100)));
    pending = ledger.undelivered_notifications();
    ASSERT_EQ(ids_of(pending), (std::vector<NotificationId>{ids[0], ids[1]}));
    EXPECT_EQ(pending[0].claim, std::nullopt);
    EXPECT_EQ(pending[0].next_attempt_at, at(100));
    EXPECT_EQ(pending[1].claim, a_second);
    EXPECT_EQ(ledger.reclaim_notifications("server-c", "c-life", at(95)), 1);
    EXPECT_EQ(ledger.undelivered_notifications()[1].next_attempt_at, at(95));

    // A live owner that is stuck: its rows wait for the delivery lease, then anyone claims them.
    const NotificationId stuck =
        ledger.enqueue_notification(outbox_row(std::nullopt, "team", ""), at(200));
    ledger.claim_due_notifications(at(200), 1, 60s, b);
    ledger.renew_run_leases("b-life", at(10'000));
    EXPECT_EQ(ledger.reclaim_notifications("server-c", "c-life", at(300)), 0);
    const auto taken = ids_of(ledger.claim_due_notifications(at(260), 10, 60s, a_second));
    EXPECT_NE(std::find(taken.begin(), taken.end(), stuck), taken.end());
}

// Two ledger objects ("servers") on one store, `threads_per_server` dispatch threads each,
// claiming batches until nothing is due and marking what they claimed delivered. Returns how
// often each id was claimed.
inline std::map<NotificationId, int> claim_from_two_servers(Ledger& server_a, Ledger& server_b,
                                                            int threads_per_server, int batch) {
    std::mutex mutex;
    std::map<NotificationId, int> claims;
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < 2 * threads_per_server; ++i) {
        threads.emplace_back([&, i] {
            Ledger& server = (i % 2 == 0) ? server_a : server_b;
            while (!go.load()) {
                std::this_thread::yield();
            }
            for (;;) {
                auto rows = server.claim_due_notifications(at(1000), batch, 10min);
                if (rows.empty()) {
                    return;
                }
                for (const auto& row : rows) {
                    {
                        std::lock_guard lock(mutex);
                        ++claims[row.id];
                    }
                    server.mark_notification_delivered(row.id, at(1001));
                }
            }
        });
    }
    go = true;
    for (auto& t : threads) {
        t.join();
    }
    return claims;
}

inline void check_each_claimed_once(const std::map<NotificationId, int>& claims,
                                    const std::vector<NotificationId>& queued) {
    EXPECT_EQ(claims.size(), queued.size());
    for (NotificationId id : queued) {
        auto found = claims.find(id);
        ASSERT_NE(found, claims.end()) << "never claimed: " << id;
        EXPECT_EQ(found->second, 1) << "claimed more than once: " << id;
    }
}

}  // namespace datafix::ledger::testing
