// The counts /metrics reads, on SQLite and on PostgreSQL: requests by status, runs by kind and
// state, and the notifications still waiting with the age of the oldest; an empty ledger counts
// nothing and has no oldest message.
#include "ledger_fixture.hpp"
#include "notification_checks.hpp"

namespace datafix::ledger::testing {

namespace {

model::Run run_of(int number, RunKind kind, RunState state, UserId by) {
    model::Run run;
    run.number = number;
    run.revision = 1;
    run.environment = "dev";
    run.kind = kind;
    run.state = state;
    run.started_by = by;
    run.started_at = at(10 + number);
    return run;
}

}  // namespace

TEST_P(LedgerTest, StatisticsCountRequestsRunsAndWaitingMessages) {
    LedgerStatistics empty = ledger->statistics(at(0));
    EXPECT_TRUE(empty.requests_by_status.empty());
    EXPECT_TRUE(empty.runs_by_kind_and_state.empty());
    EXPECT_EQ(empty.undelivered_notifications, 0);
    EXPECT_FALSE(empty.oldest_undelivered_age.has_value());

    const RequestNumber first = new_request("first").request.number;
    new_request("second");
    const RequestNumber third = new_request("third").request.number;
    for (auto [number, status] :
         {std::pair{first, RequestStatus::done}, std::pair{third, RequestStatus::cancelled}}) {
        ledger->transact(number, [&, status = status](RequestState& s) {
            s.request.status = status;
            return Mutation{true, {}};
        });
    }
    ledger->transact(first, [&](RequestState& s) {
        s.runs.push_back(run_of(1, RunKind::preview, RunState::succeeded, dev.person.id));
        s.runs.push_back(run_of(2, RunKind::preview, RunState::succeeded, dev.person.id));
        s.runs.push_back(run_of(3, RunKind::apply, RunState::in_doubt, dev.person.id));
        return Mutation{true, {}};
    });
    const NotificationId older =
        ledger->enqueue_notification(outbox_row(first, "mail", "pat.owner@example.com"), at(5));
    ledger->enqueue_notification(outbox_row(first, "team", ""), at(8));

    LedgerStatistics s = ledger->statistics(at(65));
    EXPECT_EQ(s.requests_by_status, (std::map<std::string, std::int64_t>{
                                        {std::string(status_name(RequestStatus::open)), 1},
                                        {std::string(status_name(RequestStatus::done)), 1},
                                        {std::string(status_name(RequestStatus::cancelled)), 1}}));
    using KindState = std::pair<std::string, std::string>;
    EXPECT_EQ(s.runs_by_kind_and_state, (std::map<KindState, std::int64_t>{
                                            {{std::string(run_kind_name(RunKind::preview)),
                                              std::string(run_state_name(RunState::succeeded))},
                                             2},
                                            {{std::string(run_kind_name(RunKind::apply)),
                                              std::string(run_state_name(RunState::in_doubt))},
                                             1}}));
    EXPECT_EQ(s.undelivered_notifications, 2);
    ASSERT_TRUE(s.oldest_undelivered_age.has_value());
    EXPECT_EQ(*s.oldest_undelivered_age, std::chrono::seconds(60));

    // Delivered: no longer waiting; the age is the next oldest's.
    ledger->mark_notification_delivered(older, at(66));
    LedgerStatistics after = ledger->statistics(at(68));
    EXPECT_EQ(after.undelivered_notifications, 1);
    ASSERT_TRUE(after.oldest_undelivered_age.has_value());
    EXPECT_EQ(*after.oldest_undelivered_age, std::chrono::seconds(60));
}

}  // namespace datafix::ledger::testing
