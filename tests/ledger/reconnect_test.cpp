// The PostgreSQL ledger across a restart of its server, under load: sessions the restart dropped
// are closed instead of reused, a call during the outage fails with a clear "unreachable" (never
// a crash, never a half-written step), and once the server is back every caller works again
// without a restart of the process. Run leases work the same on PostgreSQL.
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "ledger_fixture.hpp"
#include "pg_ledger_fixture.hpp"

namespace datafix::ledger::testing {

namespace {

using namespace std::chrono_literals;

AuditEvent noted(UserId actor, int i) {
    AuditEvent e = by(actor, at(i));
    e.action = "test.noted";
    e.detail = "n=" + std::to_string(i);
    return e;
}

TEST(LedgerReconnect, CallersRecoverByThemselvesAfterTheLedgerServerRestarts) {
    Key key = Key::generate();
    auto ledger = Ledger::open(fresh_ledger_url(), key);
    auto admin = ledger->create_user({"Alex Admin", "alex@example.com", Role::admin}, by(0));
    const UserId actor = admin.person.id;

    std::atomic<bool> stop{false};
    std::atomic<int> after_restart_ok{0};
    std::atomic<bool> restarted{false};
    std::atomic<int> unexpected{0};
    std::atomic<int> unreachable{0};
    std::vector<std::thread> load;
    for (int w = 0; w < 4; ++w) {
        load.emplace_back([&, w] {
            for (int i = 0; !stop; ++i) {
                try {
                    ledger->append_audit(noted(actor, w * 100000 + i));
                    (void)ledger->list_users();
                    if (restarted) {
                        ++after_restart_ok;
                    }
                } catch (const Error& e) {
                    if (e.code() == ErrorCode::unreachable || e.code() == ErrorCode::database) {
                        ++unreachable;
                    } else {
                        ++unexpected;
                    }
                    std::this_thread::sleep_for(20ms);
                } catch (...) {
                    ++unexpected;
                }
            }
        });
    }
    std::this_thread::sleep_for(300ms);
    ledger_cluster().stop();
    std::this_thread::sleep_for(300ms);
    ledger_cluster().start();
    restarted = true;
    auto until = std::chrono::steady_clock::now() + 60s;
    while (after_restart_ok < 200 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(50ms);
    }
    stop = true;
    for (auto& t : load) {
        t.join();
    }
    EXPECT_GE(after_restart_ok.load(), 200) << "the callers did not recover";
    EXPECT_GT(unreachable.load(), 0) << "the outage was not seen: the test did not test it";
    EXPECT_EQ(unexpected.load(), 0);
    // A fresh call on every pooled session works, and the chain written across the outage holds.
    for (int i = 0; i < 20; ++i) {
        EXPECT_NO_THROW(ledger->list_users());
    }
    EXPECT_TRUE(ledger->verify_audit().intact);
}

TEST(LedgerReconnect, RunLeasesOnPostgresql) {
    Key key = Key::generate();
    auto ledger = Ledger::open(fresh_ledger_url(), key);
    auto po = ledger->create_user({"Olivia PO", "olivia@example.com", Role::product_owner}, by(0));
    ChangeRequest r;
    r.title = "fix an intake name";
    r.reason = "asked by email";
    r.requested_by = po.person.id;
    r.created_by = po.person.id;
    AuditEvent e = by(po.person.id);
    e.action = "request.created";
    RequestState s = ledger->create_request(r, e);
    ledger->transact(s.request.number, [&](RequestState& st) {
        model::Run run;
        run.number = 1;
        run.revision = 1;
        run.environment = "dev";
        run.started_by = po.person.id;
        run.started_at = at(5);
        st.runs.push_back(run);
        return Mutation{true, {}};
    });
    ledger->hold_run_lease(RunLease{s.request.number, 1, "a", "inc-a", at(50)});
    EXPECT_EQ(ledger->renew_run_leases("inc-a", at(60)), 1);
    auto running = ledger->running_runs();
    ASSERT_EQ(running.size(), 1u);
    ASSERT_TRUE(running[0].lease.has_value());
    EXPECT_EQ(running[0].lease->expires_at, at(60));
    ledger->release_run_lease(s.request.number, 1);
    EXPECT_FALSE(ledger->running_runs()[0].lease.has_value());
}

}  // namespace
}  // namespace datafix::ledger::testing
