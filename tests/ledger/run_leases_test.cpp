// Run leases in the ledger, on SQLite and on PostgreSQL (reconnect_test.cpp adds a PostgreSQL
// restart): a running run is listed with its lease, renewal moves only the holder's
// leases, a released lease leaves the run listed without one, and finished runs are not listed.
#include "ledger_fixture.hpp"

namespace datafix::ledger::testing {

namespace {

class RunLeases : public LedgerTest {
  protected:
    // A request with runs 1 (running) and 2 (succeeded).
    RequestNumber with_runs() {
        RequestState s = new_request();
        ledger->transact(s.request.number, [&](RequestState& st) {
            for (int i = 1; i <= 2; ++i) {
                model::Run run;
                run.number = i;
                run.revision = 1;
                run.environment = "dev";
                run.started_by = dev.person.id;
                run.started_at = at(10 + i);
                run.state = i == 1 ? RunState::running : RunState::succeeded;
                st.runs.push_back(run);
            }
            return Mutation{true, {}};
        });
        return s.request.number;
    }
};

TEST_P(RunLeases, ARunningRunIsListedWithItsLeaseAndOnlyItsHolderRenewsIt) {
    RequestNumber n = with_runs();
    auto running = ledger->running_runs();
    ASSERT_EQ(running.size(), 1u) << "the succeeded run is not listed";
    EXPECT_EQ(running[0].request, n);
    EXPECT_EQ(running[0].run, 1);
    EXPECT_EQ(running[0].started_at, at(11));
    EXPECT_FALSE(running[0].lease.has_value());

    ledger->hold_run_lease(RunLease{n, 1, "host-a:/srv/data", "inc-a", at(100)});
    EXPECT_EQ(ledger->renew_run_leases("inc-b", at(500)), 0) << "another process renews nothing";
    running = ledger->running_runs();
    ASSERT_TRUE(running[0].lease.has_value());
    EXPECT_EQ(running[0].lease->owner, "host-a:/srv/data");
    EXPECT_EQ(running[0].lease->incarnation, "inc-a");
    EXPECT_EQ(running[0].lease->expires_at, at(100));

    EXPECT_EQ(ledger->renew_run_leases("inc-a", at(200)), 1);
    EXPECT_EQ(ledger->running_runs()[0].lease->expires_at, at(200));

    // Taken over: the lease is replaced, not duplicated.
    ledger->hold_run_lease(RunLease{n, 1, "host-b:/srv/data", "inc-b", at(300)});
    running = ledger->running_runs();
    ASSERT_EQ(running.size(), 1u);
    EXPECT_EQ(running[0].lease->owner, "host-b:/srv/data");

    ledger->release_run_lease(n, 1);
    running = ledger->running_runs();
    ASSERT_EQ(running.size(), 1u) << "releasing a lease does not finish the run";
    EXPECT_FALSE(running[0].lease.has_value());
}

DATAFIX_ON_EVERY_BACKEND(RunLeases);

}  // namespace
}  // namespace datafix::ledger::testing
