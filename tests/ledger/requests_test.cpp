// Requests, on SQLite and on PostgreSQL: a full state survives a transaction and a reload; a
// callback that declines or throws changes nothing; private text is sealed at rest (a canary never
// appears in the stored bytes: the SQLite file and WAL, every row of the PostgreSQL database).
#include <stdexcept>

#include "core/error.hpp"
#include "ledger_fixture.hpp"

namespace datafix::ledger::testing {

namespace {
const std::string kCanary = "canary-7f3e9a-private-value";

// A state with one of everything, private text carrying the canary.
void fill(RequestState& s, UserId driver, UserId pair) {
    s.claim = Claim{driver, at(1), at(1800)};
    s.pair = Pair{pair, at(2)};
    Revision v;
    v.number = 1;
    v.hash = std::string(64, 'a');
    v.change_hash = std::string(64, 'b');
    v.change_sql = "UPDATE app_public.app_user SET email = '" + kCanary + "' WHERE id = 3";
    v.verify_sql = "SELECT email FROM app_public.app_user WHERE email = '" + kCanary + "'";
    v.statements.push_back({"UPDATE app_public.app_user SET email = $1 WHERE id = $2", "fp1",
                            std::string(64, 'c'), 1});
    v.attached_by = driver;
    v.attached_at = at(3);
    s.revisions.push_back(v);
    Run run;
    run.number = 1;
    run.revision = 1;
    run.revision_hash = v.hash;
    run.environment = "dev";
    run.kind = RunKind::apply;
    run.state = RunState::in_doubt;
    run.started_by = driver;
    run.started_at = at(4);
    run.finished_at = at(5);
    run.counts = {1, 0};
    run.fingerprint = "evidence-1";
    run.xid = 12345;
    run.backend_pid = 678;
    run.before_images_path = "/var/lib/datafix/images/1-1.before";
    run.after_images_path = "/var/lib/datafix/images/1-1.after";
    run.verify_results = "[[\"" + kCanary + "\"]]";
    run.failure = "duplicate key value (email)=(" + kCanary + ")";
    s.runs.push_back(run);
    Approval a;
    a.number = 1;
    a.kind = ApprovalKind::evidence;
    a.environment = "dev";
    a.revision = 1;
    a.revision_hash = v.hash;
    a.fingerprint = "evidence-1";
    a.approved_by = pair;
    a.approved_at = at(6);
    s.approvals.push_back(a);
    Backup b;
    b.number = 1;
    b.environment = "prod";
    b.revision = 1;
    b.verified = true;
    b.taken_at = at(7);
    b.size_bytes = 1024;
    b.sha256 = std::string(64, 'd');
    b.location = "/var/backups/1-prod.dump";
    b.recorded_by = driver;
    s.backups.push_back(b);
}

AuditEvent event(const char* action, UserId actor) {
    AuditEvent e = by(actor, at(8));
    e.action = action;
    e.environment = "dev";
    e.statement_hash = std::string(64, 'a');
    return e;
}
}  // namespace

TEST_P(LedgerTest, StateRoundTrips) {
    RequestState created = new_request();
    EXPECT_EQ(created.request.number, 1);
    EXPECT_EQ(created.version, 1);
    RequestState expected;
    TransactResult result = ledger->transact(1, [&](RequestState& s) {
        fill(s, dev.person.id, po.person.id);
        expected = s;
        return Mutation{true, {event("test.filled", dev.person.id)}};
    });
    ASSERT_TRUE(result.found);
    ASSERT_TRUE(result.committed);
    auto loaded = ledger->load(1);
    ASSERT_TRUE(loaded.has_value());
    expected.version = 2;
    EXPECT_TRUE(*loaded == expected);
    EXPECT_EQ(loaded->runs.at(0).failure, expected.runs.at(0).failure);

    // Changing a run, voiding an approval, dropping the claim.
    ledger->transact(1, [&](RequestState& s) {
        s.runs[0].state = RunState::succeeded;
        s.approvals[0].voided = true;
        s.claim.reset();
        s.request.status = RequestStatus::done;
        expected = s;
        return Mutation{true, {event("test.changed", dev.person.id)}};
    });
    loaded = ledger->load(1);
    expected.version = 3;
    EXPECT_TRUE(*loaded == expected);

    auto list = ledger->list_requests({});
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0].revision, 1);
    EXPECT_EQ(list[0].revision_hash, std::string(64, 'a'));
    EXPECT_FALSE(list[0].claim.has_value());
    EXPECT_EQ(list[0].pair->pair, po.person.id);
    EXPECT_EQ(ledger->list_requests({RequestStatus::open, 10}).size(), 0u);
    EXPECT_EQ(ledger->list_requests({RequestStatus::done, 10}).size(), 1u);
}

TEST_P(LedgerTest, DeclinedOrThrowingCallbackChangesNothing) {
    new_request();
    const auto audit_before = ledger->read_audit({}).size();
    TransactResult declined = ledger->transact(1, [&](RequestState& s) {
        s.claim = Claim{dev.person.id, at(1), at(2)};
        return Mutation{};
    });
    EXPECT_TRUE(declined.found);
    EXPECT_FALSE(declined.committed);
    EXPECT_FALSE(declined.state.claim.has_value());
    EXPECT_THROW(ledger->transact(1,
                                  [&](RequestState& s) -> Mutation {
                                      s.claim = Claim{dev.person.id, at(1), at(2)};
                                      throw std::runtime_error("the executor crashed");
                                  }),
                 std::runtime_error);
    EXPECT_FALSE(ledger->load(1)->claim.has_value());
    EXPECT_EQ(ledger->read_audit({}).size(), audit_before);
    EXPECT_EQ(ledger->load(1)->version, 1);
}

// A step the database's own constraints refuse fails without quoting a value: PostgreSQL's DETAIL
// line ("Key (driver)=(...) is not present in table ...") stays out of the error, which reaches
// logs and API bodies. Nothing of the step is written.
TEST_P(LedgerTest, AConstraintViolationQuotesNoValue) {
    new_request();
    const UserId nobody = 987654321;
    try {
        ledger->transact(1, [&](RequestState& s) {
            s.claim = Claim{nobody, at(1), at(2)};
            return Mutation{true, {event("test.claimed", dev.person.id)}};
        });
        FAIL() << "the foreign key to users did not refuse an unknown driver";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::database);
        EXPECT_EQ(e.describe().find("987654321"), std::string::npos) << e.describe();
        EXPECT_EQ(std::string(e.what()).find("987654321"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(ledger->load(1)->claim.has_value());
    EXPECT_EQ(ledger->load(1)->version, 1);
}

TEST_P(LedgerTest, UnknownRequest) {
    bool called = false;
    TransactResult r = ledger->transact(42, [&](RequestState&) {
        called = true;
        return Mutation{};
    });
    EXPECT_FALSE(r.found);
    EXPECT_FALSE(called);
    EXPECT_FALSE(ledger->load(42).has_value());
}

TEST_P(LedgerTest, RevisionsAreImmutable) {
    new_request();
    ledger->transact(1, [&](RequestState& s) {
        fill(s, dev.person.id, po.person.id);
        return Mutation{true, {}};
    });
    EXPECT_THROW(ledger->transact(1,
                                  [&](RequestState& s) {
                                      s.revisions[0].change_sql = "DELETE FROM x WHERE id = 1";
                                      return Mutation{true, {}};
                                  }),
                 Error);
    EXPECT_NE(ledger->load(1)->revisions[0].change_sql.find(kCanary), std::string::npos);
}

TEST_P(LedgerTest, PrivateTextIsSealedOnDisk) {
    ChangeRequest r;
    r.title = "change an applicant's email";
    r.reason = "the applicant wrote from " + kCanary;
    r.requested_by = po.person.id;
    r.created_by = po.person.id;
    r.created_at = at(0);
    ledger->create_request(r, event("request.created", po.person.id));
    ledger->transact(1, [&](RequestState& s) {
        fill(s, dev.person.id, po.person.id);
        return Mutation{true, {event("test.filled", dev.person.id)}};
    });
    // Readable through the ledger (it holds the key) ...
    auto loaded = ledger->load(1);
    EXPECT_NE(loaded->revisions[0].change_sql.find(kCanary), std::string::npos);
    EXPECT_NE(loaded->request.reason.find(kCanary), std::string::npos);
    // ... absent from every byte stored, with SQLite's WAL still holding the latest pages ...
    std::string bytes = stored_bytes();
    ASSERT_GT(bytes.size(), 0u);
    EXPECT_EQ(bytes.find(kCanary), std::string::npos);
    EXPECT_EQ(bytes.find("canary-7f3e9a"), std::string::npos);
    // ... and after a checkpoint into SQLite's main file.
    if (GetParam() == Backend::sqlite) {
        EXPECT_EQ(raw_exec("PRAGMA wal_checkpoint(TRUNCATE)"), "");
    }
    ledger.reset();
    EXPECT_EQ(stored_bytes().find(kCanary), std::string::npos);
    // Normalized statements and hashes are kept in clear on purpose.
    EXPECT_NE(stored_bytes().find("SET email = $1"), std::string::npos);
}

// Text is stored as given on both backends: quotes, backslashes, newlines, characters outside
// the basic multilingual plane; lists come newest first, filtered by status and cut at the limit.
TEST_P(LedgerTest, TextRoundTripsExactlyAndListsFilterAndLimit) {
    const std::string title = "O'Brien \\ \"quoted\" \u00e9\u00e8 \U0001F600 end";
    const std::string reason = "line one\nline two\t'; DROP TABLE requests; --";
    ChangeRequest r;
    r.title = title;
    r.reason = reason;
    r.requested_by = po.person.id;
    r.requested_date = "2024-05-01";
    r.ticket = "https://tickets.example.com/1?a=1&b='2'";
    r.created_by = po.person.id;
    r.created_at = at(0);
    const RequestNumber first =
        ledger->create_request(r, event("request.created", po.person.id)).request.number;
    auto loaded = ledger->load(first);
    ASSERT_TRUE(loaded.has_value());
    EXPECT_EQ(loaded->request.title, title);
    EXPECT_EQ(loaded->request.reason, reason);
    EXPECT_EQ(loaded->request.ticket, r.ticket);

    for (int i = 0; i < 4; ++i) {
        new_request("request " + std::to_string(i));
    }
    ledger->transact(first, [&](RequestState& s) {
        s.request.status = RequestStatus::done;
        return Mutation{true, {}};
    });
    auto all = ledger->list_requests({});
    ASSERT_EQ(all.size(), 5u);
    for (std::size_t i = 1; i < all.size(); ++i) {
        EXPECT_GT(all[i - 1].request.number, all[i].request.number) << "newest first";
    }
    EXPECT_EQ(all.back().request.title, title);
    auto done = ledger->list_requests({RequestStatus::done, 100});
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].request.number, first);
    auto open = ledger->list_requests({RequestStatus::open, 2});
    ASSERT_EQ(open.size(), 2u);
    EXPECT_EQ(open[0].request.title, "request 3");
    EXPECT_EQ(open[1].request.title, "request 2");
    EXPECT_TRUE(ledger->list_requests({RequestStatus::cancelled, 100}).empty());
}

TEST_P(LedgerTest, WrongKeyCannotOpenSealedText) {
    new_request();
    ledger.reset();
    Key other = Key::generate();
    ledger = open_ledger(other);
    EXPECT_THROW(ledger->load(1), Error);
}

}  // namespace datafix::ledger::testing

namespace datafix::ledger::testing {
namespace {

// A step's messages are written in the step's own transaction: all of them with the step, or
// none without it (a step that throws after writing its state queues nothing).
TEST_P(LedgerTest, AStepsMessagesCommitWithTheStepOrNotAtAll) {
    new_request();
    NewNotificationRow mail{"claimed", 1, "mail", "olivia@example.com", "{}"};
    NewNotificationRow team{"claimed", 1, "team", "", "{}"};
    ledger->transact(1, [&](RequestState& s) {
        s.request.title = "renamed";
        return Mutation{true, {event("test.step", dev.person.id)}, {mail, team}, at(5)};
    });
    auto queued = ledger->undelivered_notifications(1);
    ASSERT_EQ(queued.size(), 2u);
    EXPECT_EQ(queued[0].content.channel, "mail");
    EXPECT_EQ(queued[0].next_attempt_at, at(5));

    EXPECT_THROW(ledger->transact(1,
                                  [&](RequestState& s) -> Mutation {
                                      s.request.title = "again";
                                      throw std::runtime_error("the step failed");
                                  }),
                 std::runtime_error);
    ledger->transact(1, [&](RequestState&) { return Mutation{false, {}, {mail}, at(6)}; });
    EXPECT_EQ(ledger->undelivered_notifications(1).size(), 2u)
        << "a refused or failed step queued nothing";
    EXPECT_EQ(ledger->load(1)->request.title, "renamed");
}

}  // namespace

// Every TEST_P(LedgerTest, ...) of the ledger tests, in whichever file, runs on both backends.
DATAFIX_ON_EVERY_BACKEND(LedgerTest);

}  // namespace datafix::ledger::testing
