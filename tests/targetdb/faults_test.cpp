// Faults on a real cluster: a backend terminated mid-statement, a row lock held by another
// session, and a connection cut after COMMIT was sent (committed and not committed). Each ends
// with a clear message and the database exactly as it was or exactly as approved.
#include <chrono>
#include <thread>

#include "target_support.hpp"
#include "targetdb/connection.hpp"

namespace datafix::targetdb::test {
namespace {

constexpr const char* kUpdateOne =
    "UPDATE app_public.application SET form_data = form_data || '{\"reviewed\": true}' "
    "WHERE id = 5";

// Another session as the superuser: the "someone else" of these tests.
std::unique_ptr<Connection> other_session(const TestDatabase& db) {
    return Connection::open(db.cluster.conninfo(db.name), "other session");
}

// Polls until `sql` (one boolean) is true; fails the test after a few seconds.
void wait_until(Connection& c, const std::string& sql) {
    for (int i = 0; i < 100; ++i) {
        if (c.query(sql).scalar() == "t") {
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "timed out waiting for: " << sql;
}

TEST(Faults, RowLockHeldElsewhereTimesOutAndChangesNothing) {
    TestDatabase db(dev());
    TempImages images;
    auto target = db.target();
    target.lock_timeout = std::chrono::milliseconds(300);
    auto session = Session::open(target);
    auto plan = plan_for(kUpdateOne, {1});
    auto evidence = session.preview(plan, images.store);
    auto before = db.state();

    auto other = other_session(db);
    other->query("BEGIN");
    other->query("SELECT 1 FROM app_public.application WHERE id = 5 FOR UPDATE");
    auto message = expect_error(ErrorCode::database,
                                [&] { session.apply(plan, evidence, images.store, kNoHook); });
    EXPECT_NE(message.find("lock timeout"), std::string::npos) << message;
    EXPECT_NE(message.find("SQLSTATE 55P03"), std::string::npos) << message;
    // The pre-flight report may name the holder; either way the HINT says what to do.
    EXPECT_NE(message.find("HINT: "), std::string::npos) << message;
    other->query("ROLLBACK");
    EXPECT_EQ(db.state(), before);
    // The session stays usable: the same approved evidence applies once the lock is gone.
    auto outcome = session.apply(plan, evidence, images.store, kNoHook);
    EXPECT_EQ(outcome.status, OutcomeStatus::committed);
}

TEST(Faults, BackendTerminatedMidStatementChangesNothing) {
    TestDatabase db(dev());
    TempImages images;
    auto target = db.target();
    target.application_name = "datafix terminated";
    auto session = Session::open(target);
    auto plan = plan_for(kUpdateOne, {1});
    auto evidence = session.preview(plan, images.store);
    auto before = db.state();

    // The apply's UPDATE waits on this lock; while it waits, its backend is terminated.
    auto other = other_session(db);
    other->query("BEGIN");
    other->query("SELECT 1 FROM app_public.application WHERE id = 5 FOR UPDATE");
    std::thread killer([&] {
        auto admin = other_session(db);
        wait_until(*admin,
                   "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = "
                   "'datafix terminated' AND wait_event_type = 'Lock')");
        admin->query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'datafix terminated'");
    });
    auto message = expect_error(ErrorCode::unreachable,
                                [&] { session.apply(plan, evidence, images.store, kNoHook); });
    killer.join();
    EXPECT_NE(message.find("the connection to dev was lost"), std::string::npos) << message;
    EXPECT_NE(message.find("HINT: nothing was committed"), std::string::npos) << message;
    other->query("ROLLBACK");
    EXPECT_EQ(db.state(), before);
}

TEST(Faults, ConnectionCutAfterCommitThatCommittedIsResolvedAsCommitted) {
    TestDatabase db(dev());
    TempImages images;
    auto session = Session::open(db.target());
    auto plan = plan_for(kUpdateOne, {1});
    auto evidence = session.preview(plan, images.store);
    auto admin = other_session(db);
    auto outcome =
        session.apply(plan, evidence, images.store, kNoHook, [&](const CommitInFlight& commit) {
            // Let the server finish the COMMIT, then cut the line
            // before its answer is read.
            wait_until(*admin, "SELECT pg_xact_status('" + commit.xid + "'::xid8) = 'committed'");
            commit.drop_connection();
        });
    EXPECT_EQ(outcome.status, OutcomeStatus::committed);
    EXPECT_EQ(outcome.resolved_by,
              "pg_xact_status says committed, and the rows match the after-images and do not "
              "match the before-images");
    EXPECT_EQ(db.psql("SELECT count(*) FROM app_public.application "
                      "WHERE id = 5 AND form_data ? 'reviewed'"),
              "1");
    EXPECT_EQ(db.psql("SELECT count(*) FROM app_public.record_version WHERE op = 'UPDATE'"), "1")
        << "applied exactly once";
    // The session reconnected (with its guards) while resolving and is usable again.
    auto again = session.preview(plan_for("DELETE FROM app_public.application_status "
                                          "WHERE application_id = 5",
                                          {1}),
                                 images.store);
    EXPECT_EQ(again.statements.at(0).actual_rows, 1);
}

TEST(Faults, ConnectionCutDuringACommitThatFailedIsResolvedAsNotCommitted) {
    TestDatabase db(dev());
    // A deferred constraint trigger makes COMMIT wait for a row of a gate table the test holds
    // locked, so the backend can be terminated while it is committing. (A plain UPDATE: a trigger
    // function datafix vouches for takes no advisory lock.)
    db.psql(R"(
CREATE TABLE public.datafix_test_gate (id integer PRIMARY KEY, n integer NOT NULL);
INSERT INTO public.datafix_test_gate VALUES (1, 0);
GRANT SELECT, INSERT, UPDATE, DELETE ON public.datafix_test_gate TO app_owner;
CREATE FUNCTION public.datafix_test_wait() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN UPDATE public.datafix_test_gate SET n = n WHERE id = 1; RETURN NULL; END $$;
CREATE CONSTRAINT TRIGGER datafix_test_wait AFTER UPDATE ON app_public.application
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.datafix_test_wait();)");
    TempImages images;
    auto session = Session::open(db.target());
    auto plan = plan_for(kUpdateOne, {1});
    auto evidence = session.preview(plan, images.store);
    auto before = db.state();
    auto admin = other_session(db);
    admin->query("BEGIN");
    admin->query("SELECT 1 FROM public.datafix_test_gate WHERE id = 1 FOR UPDATE");
    auto watcher = other_session(db);
    std::string xid;
    auto message = expect_error(ErrorCode::database, [&] {
        session.apply(plan, evidence, images.store, kNoHook, [&](const CommitInFlight& commit) {
            xid = commit.xid;
            std::string pid = std::to_string(commit.backend_pid);
            wait_until(*watcher,
                       "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = " + pid);
            watcher->query("SELECT pg_terminate_backend(" + pid + ")");
        });
    });
    admin->query("ROLLBACK");
    EXPECT_NE(message.find("the connection was lost during COMMIT and the transaction " + xid +
                           " did not commit (pg_xact_status says aborted, and the rows do not "
                           "match the after-images and match the before-images); nothing changed"),
              std::string::npos)
        << message;
    EXPECT_EQ(db.state(), before);
}

TEST(Faults, ResolvingFromImagesWhenTheXidCannotAnswer) {
    // pg_xact_status cannot answer for an xid older than the commit log keeps; an empty xid
    // takes the same path: the current rows are compared with the images.
    TestDatabase db(dev());
    TempImages images;
    auto session = Session::open(db.target());
    auto plan = plan_for(kUpdateOne, {1});
    auto evidence = session.preview(plan, images.store);
    auto outcome = session.apply(plan, evidence, images.store, kNoHook);
    auto resolved = session.resolve_in_doubt("", outcome.applied, images.store);
    EXPECT_EQ(resolved.status, OutcomeStatus::committed);
    EXPECT_EQ(resolved.resolved_by,
              "no commit log answer; the rows match the after-images and do not match the "
              "before-images");

    // Against the rehearsal's images (never committed): the rows are still the before-images
    // for... a change previewed but not applied.
    auto other = plan_for("UPDATE app_public.application SET form_data = '{}' WHERE id = 9", {1});
    auto never_applied = session.preview(other, images.store);
    auto not_committed = session.resolve_in_doubt("", never_applied, images.store);
    EXPECT_EQ(not_committed.status, OutcomeStatus::not_committed);
}

TEST(Faults, ACommittedXidWhoseRowsAreNotThereStaysInDoubt) {
    // After a crash an xid whose assignment never reached the WAL can be handed out again:
    // pg_xact_status then answers for another transaction. Here: a committed xid of someone
    // else, and evidence of a change that never ran.
    TestDatabase db(dev());
    TempImages images;
    auto session = Session::open(db.target());
    auto never_applied = session.preview(
        plan_for("UPDATE app_public.application SET form_data = '{}' WHERE id = 9", {1}),
        images.store);
    auto someone_elses = db.psql(
        "BEGIN; UPDATE app_public.intake SET intake_number = intake_number WHERE id = 1; "
        "SELECT pg_current_xact_id(); COMMIT;");
    auto resolved = session.resolve_in_doubt(someone_elses, never_applied, images.store);
    EXPECT_EQ(resolved.status, OutcomeStatus::in_doubt) << resolved.resolved_by;
    EXPECT_EQ(resolved.resolved_by,
              "pg_xact_status says committed, and the rows do not match the after-images and "
              "match the before-images");
}

}  // namespace
}  // namespace datafix::targetdb::test
