// The engine over a real SQLite ledger: a runbook step is decided on the stored state and
// committed with its audit entries; a refusal writes nothing; 64 developers claiming at once
// through the rules -> exactly one driver.
#include <atomic>
#include <filesystem>
#include <random>
#include <thread>

#include "core/crypto.hpp"
#include "scenario.hpp"
#include "workflow/engine.hpp"

namespace datafix::workflow::testing {

namespace {
model::AuditEvent system_event() {
    model::AuditEvent e;
    e.at = model::from_millis(1'700'000'000'000);
    return e;
}
}  // namespace

class EngineTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::random_device rd;
        dir = std::filesystem::temp_directory_path() / ("datafix-engine-" + std::to_string(rd()));
        std::filesystem::create_directories(dir);
        key = std::make_unique<Key>(Key::generate());
        store = ledger::Ledger::open((dir / "ledger.db").string(), *key);
        po = store
                 ->create_user({"Olivia PO", "olivia@example.com", model::Role::product_owner},
                               system_event())
                 .person;
        driver = store
                     ->create_user({"Dana Dev", "dana@example.com", model::Role::developer},
                                   system_event())
                     .person;
        pair = store
                   ->create_user({"Pat Dev", "pat@example.com", model::Role::developer},
                                 system_event())
                   .person;
        engine = std::make_unique<Engine>(*store, WorkflowConfig::standard());
    }
    void TearDown() override {
        engine.reset();
        store.reset();
        std::filesystem::remove_all(dir);
    }

    model::RequestNumber file_request() {
        NewRequest r{"fix an intake name", "asked by email", 0, "2024-05-01",
                     "https://tickets.example.com/3"};
        Decision d = engine->create_request(r, po, now);
        EXPECT_TRUE(d.allowed());
        return d.state.request.number;
    }

    std::filesystem::path dir;
    std::unique_ptr<Key> key;
    std::unique_ptr<ledger::Ledger> store;
    std::unique_ptr<Engine> engine;
    model::Person po, driver, pair;
    model::Time now = model::from_millis(1'700'000'100'000);
};

TEST_F(EngineTest, StepsAreStoredWithTheirAudit) {
    model::RequestNumber n = file_request();
    EXPECT_TRUE(engine->perform(n, ClaimRequest{}, driver, now).allowed());
    EXPECT_TRUE(engine->perform(n, JoinPair{}, pair, now).allowed());
    Decision d = engine->perform(n, Scenario::change(), driver, now);
    ASSERT_TRUE(d.allowed());
    auto stored = store->load(n);
    EXPECT_EQ(stored->claim->driver, driver.id);
    EXPECT_EQ(stored->pair->pair, pair.id);
    EXPECT_EQ(stored->current_revision()->hash, d.state.current_revision()->hash);
    auto audit = store->read_audit({n, 0, 100});
    ASSERT_EQ(audit.size(), 4u);
    EXPECT_EQ(audit[0].event.action, "request.created");
    EXPECT_EQ(audit[1].event.action, "claim.taken");
    EXPECT_EQ(audit[2].event.action, "pair.joined");
    EXPECT_EQ(audit[3].event.action, "revision.attached");
    EXPECT_EQ(audit[3].event.statement_hash, d.state.current_revision()->hash);
    EXPECT_TRUE(store->verify_audit().intact);
}

TEST_F(EngineTest, RefusalWritesNothing) {
    model::RequestNumber n = file_request();
    engine->perform(n, ClaimRequest{}, driver, now);
    const auto before = store->load(n);
    const auto audit_before = store->read_audit({}).size();
    Decision d = engine->perform(n, JoinPair{}, driver, now);
    ASSERT_FALSE(d.allowed());
    EXPECT_EQ(d.refusal->rule, "pair-is-not-driver");
    EXPECT_TRUE(*store->load(n) == *before);
    EXPECT_EQ(store->read_audit({}).size(), audit_before);
}

TEST_F(EngineTest, UnknownRequestIsNotFound) {
    Decision d = engine->perform(999, ClaimRequest{}, driver, now);
    ASSERT_FALSE(d.allowed());
    EXPECT_EQ(d.refusal->rule, "request-not-found");
    EXPECT_EQ(d.refusal->code, ErrorCode::not_found);
}

TEST_F(EngineTest, CreateRequestRefusedForNonProductOwner) {
    NewRequest r{"fix", "because", pair.id, "2024-05-01", ""};
    Decision d = engine->create_request(r, driver, now);
    ASSERT_FALSE(d.allowed());
    EXPECT_EQ(d.refusal->rule, "requester-is-product-owner");
    EXPECT_TRUE(store->list_requests({}).empty());
}

TEST_F(EngineTest, SixtyFourConcurrentClaimsOneDriver) {
    model::RequestNumber n = file_request();
    std::vector<model::Person> devs;
    for (int i = 0; i < 64; ++i) {
        devs.push_back(
            store
                ->create_user({"Dev " + std::to_string(i),
                               "dev" + std::to_string(i) + "@example.com", model::Role::developer},
                              system_event())
                .person);
    }
    std::atomic<int> winners{0};
    std::atomic<int> taken{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < 64; ++i) {
        threads.emplace_back([&, i] {
            while (!go.load()) {
                std::this_thread::yield();
            }
            Decision d = engine->perform(n, ClaimRequest{}, devs[static_cast<std::size_t>(i)], now);
            if (d.allowed()) {
                ++winners;
            } else if (d.refusal->rule == "claim-taken") {
                ++taken;
            }
        });
    }
    go = true;
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(winners.load(), 1);
    EXPECT_EQ(taken.load(), 63);
    EXPECT_TRUE(store->verify_audit().intact);
}

}  // namespace datafix::workflow::testing
