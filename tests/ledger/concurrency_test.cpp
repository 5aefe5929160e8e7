// Compare-and-set in the store: 64 threads claiming one request at once (each a transact that
// claims only when nobody holds it) -> exactly one winner, whether they share one Ledger or each
// opens its own (as separate server processes would).
#include <atomic>
#include <thread>
#include <vector>

#include "ledger_fixture.hpp"

namespace datafix::ledger::testing {

namespace {
constexpr int kThreads = 64;

// What a claim does in the store: the rule itself lives in the workflow; here only the
// compare-and-set matters.
bool try_claim(Ledger& ledger, RequestNumber number, UserId who) {
    TransactResult r = ledger.transact(number, [&](RequestState& s) {
        if (s.claim.has_value()) {
            return Mutation{};
        }
        s.claim = Claim{who, at(0), at(1800)};
        AuditEvent e = by(who);
        e.action = "claim.taken";
        return Mutation{true, {e}};
    });
    return r.committed;
}
}  // namespace

TEST_P(LedgerTest, SixtyFourClaimsOneWinnerSharedLedger) {
    new_request();
    std::vector<UserId> ids;
    for (int i = 0; i < kThreads; ++i) {
        ids.push_back(
            ledger
                ->create_user({"Dev " + std::to_string(i),
                               "dev" + std::to_string(i) + "@example.com", Role::developer},
                              by(0))
                .person.id);
    }
    std::atomic<int> winners{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
        threads.emplace_back([&, i] {
            while (!go.load()) {
                std::this_thread::yield();
            }
            if (try_claim(*ledger, 1, ids[static_cast<std::size_t>(i)])) {
                ++winners;
            }
        });
    }
    go = true;
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(winners.load(), 1);
    auto state = ledger->load(1);
    ASSERT_TRUE(state->claim.has_value());
    auto claims = ledger->read_audit({1, 0, 1000});
    int taken = 0;
    for (const AuditEntry& e : claims) {
        taken += e.event.action == "claim.taken" ? 1 : 0;
    }
    EXPECT_EQ(taken, 1);
    EXPECT_TRUE(ledger->verify_audit().intact);
}

TEST_P(LedgerTest, SixtyFourClaimsOneWinnerSeparateLedgers) {
    new_request();
    std::vector<std::unique_ptr<Ledger>> servers;
    for (int i = 0; i < kThreads; ++i) {
        servers.push_back(open_ledger(*key));
    }
    std::atomic<int> winners{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
        threads.emplace_back([&, i] {
            while (!go.load()) {
                std::this_thread::yield();
            }
            if (try_claim(*servers[static_cast<std::size_t>(i)], 1, dev.person.id)) {
                ++winners;
            }
        });
    }
    go = true;
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(winners.load(), 1);
    EXPECT_TRUE(ledger->verify_audit().intact);
}

TEST_P(LedgerTest, ConcurrentAppendsKeepOneChain) {
    std::vector<std::thread> threads;
    for (int i = 0; i < 16; ++i) {
        threads.emplace_back([&, i] {
            for (int j = 0; j < 10; ++j) {
                AuditEvent e = by(dev.person.id, at(i * 100 + j));
                e.action = "test.append";
                ledger->append_audit(e);
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    AuditCheck check = ledger->verify_audit();
    EXPECT_TRUE(check.intact) << check.reason;
    EXPECT_EQ(check.entries, 2 + 160);
}

}  // namespace datafix::ledger::testing
