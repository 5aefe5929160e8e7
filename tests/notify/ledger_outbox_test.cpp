// The dispatcher over the ledger-backed outbox (a SQLite ledger) against aiosmtpd on loopback:
// a mail server that is down delays the message, which waits in the ledger (listed as
// undelivered, surviving a server restart) and arrives once the server is back; two servers on
// one ledger send each message once; a canary literal of the change is in neither the stored
// payload nor any received mail.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <set>
#include <thread>

#include "core/crypto.hpp"
#include "core/error.hpp"
#include "delivery_support.hpp"
#include "ledger/ledger.hpp"
#include "notify/ledger_outbox.hpp"
#include "notify/notifier.hpp"
#include "notify/summary.hpp"
#include "notify/transport.hpp"
#include "sql/analysis.hpp"

namespace datafix::notify {
namespace {

// A SQLite ledger in a temporary directory holding one request whose change carries the
// canaries, applied in prod, with its driver, pair and product owner.
class LedgerWithRequest {
  public:
    LedgerWithRequest() : path_(dir_.path() + "/ledger.db") {
        open();
        const auto driver = ledger_->create_user(
            {"Dana Driver", "dana.driver@example.com", model::Role::developer}, event(0));
        const auto pair = ledger_->create_user(
            {"Robin Pair", "robin.pair@example.com", model::Role::developer}, event(0));
        const auto owner = ledger_->create_user(
            {"Pat Owner", "pat.owner@example.com", model::Role::product_owner}, event(0));
        model::ChangeRequest request;
        request.title = "Correct an applicant's email";
        request.reason = "asked by email";
        request.requested_by = owner.person.id;
        request.requested_date = "2025-01-01";
        request.ticket = "https://tickets.example.com/7";
        request.created_by = owner.person.id;
        request.created_at = kT0;
        model::AuditEvent created = event(owner.person.id);
        created.action = "request.created";
        number_ = ledger_->create_request(request, created).request.number;

        const sql::Analysis analysis =
            sql::analyze(kCanaryChange, sql::FileRole::change, "change.sql");
        ledger_->transact(number_, [&](model::RequestState& state) {
            state.claim = model::Claim{driver.person.id, kT0, kT0 + 30min};
            state.pair = model::Pair{pair.person.id, kT0};
            model::Revision revision;
            revision.number = 1;
            revision.hash = std::string(64, 'a');
            revision.change_hash = std::string(64, 'c');
            revision.change_sql = kCanaryChange;
            revision.verify_sql = "SELECT email FROM app_public.app_user WHERE id = 8675309";
            for (const auto& statement : analysis.statements) {
                revision.statements.push_back(
                    {statement.normalized, statement.fingerprint, std::string(64, 'f'), 1});
            }
            revision.attached_by = driver.person.id;
            revision.attached_at = kT0;
            state.revisions = {revision};
            model::Run run;
            run.number = 1;
            run.revision = 1;
            run.revision_hash = revision.hash;
            run.environment = "prod";
            run.kind = model::RunKind::apply;
            run.state = model::RunState::succeeded;
            run.started_by = driver.person.id;
            run.started_at = kT0;
            run.finished_at = kT0;
            run.counts = {1, 1};
            run.fingerprint = std::string(64, 'b');
            run.verify_results = "canary-7f3a9@example.com";
            state.runs = {run};
            model::AuditEvent applied = event(driver.person.id);
            applied.action = "run.applied";
            return ledger::Mutation{true, {applied}};
        });
    }

    // A server (re)starting: a new ledger object on the same file.
    void open() { ledger_ = ledger::Ledger::open(path_, key_); }
    std::unique_ptr<ledger::Ledger> open_another() const {
        return ledger::Ledger::open(path_, key_);
    }
    ledger::Ledger& ledger() { return *ledger_; }
    model::RequestNumber number() const { return number_; }
    const std::string& dir() const { return dir_.path(); }

    ChangeSummary summary(EventKind kind, const std::string& environment, model::Time at) {
        return summarize(
            *ledger_->load(number_), kind, environment,
            [this](model::UserId id) { return ledger_->find_user(id); }, at);
    }

    // Every byte of the ledger on disk: the file, its WAL and shared memory.
    std::string all_bytes() const {
        std::string bytes;
        for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
            if (std::filesystem::exists(path_ + suffix)) {
                bytes += slurp(path_ + suffix);
            }
        }
        return bytes;
    }

    static constexpr model::Time kT0 = model::Time{std::chrono::milliseconds{1735732800000}};

  private:
    static model::AuditEvent event(model::UserId actor) {
        model::AuditEvent e;
        e.at = kT0;
        e.actor = actor;
        return e;
    }

    TempDir dir_;
    std::string path_;
    Key key_ = Key::generate();
    std::unique_ptr<ledger::Ledger> ledger_;
    model::RequestNumber number_ = 0;
};

NotifyConfig mail_config(int port, std::vector<std::string> addresses = {}) {
    NotifyConfig config;
    config.base_url = "https://datafix.example.com";
    config.channels = {email_channel(port)};
    Route route{"mail", std::move(addresses), {}};
    if (route.addresses.empty()) {
        route.people = {PersonRole::product_owner};
    }
    config.routes[EventKind::prod_applied] = {route};
    return config;
}

void expect_no_canary(const std::string& text, const std::string& where) {
    for (const auto& canary : kCanaries) {
        EXPECT_EQ(text.find(canary), std::string::npos) << canary << " in " << where;
    }
}

TEST(LedgerOutbox, AMailServerThatIsDownOnlyDelaysTheMessage) {
    LedgerWithRequest store;
    const int port = free_port();
    const NotifyConfig config = mail_config(port);
    const auto t0 = LedgerWithRequest::kT0;
    {
        LedgerOutbox outbox(store.ledger(), delivery_lease(config, 100));
        Notifier notifier(config, outbox);
        Dispatcher dispatcher(config, outbox, Backoff{30s, 1h});

        ASSERT_EQ(notifier.notify(store.summary(EventKind::prod_applied, "prod", t0), t0).size(),
                  1u);
        auto queued = outbox.undelivered(store.number());
        ASSERT_EQ(queued.size(), 1u);
        EXPECT_EQ(queued[0].content.event, EventKind::prod_applied);
        EXPECT_EQ(queued[0].content.recipient, "pat.owner@example.com");
        EXPECT_NE(queued[0].content.payload.find("SET email = $1, given_name = $2 WHERE id = $3"),
                  std::string::npos)
            << queued[0].content.payload;
        expect_no_canary(queued[0].content.payload, "the stored payload");

        EXPECT_EQ(dispatcher.run_once(t0).failed, 1);
        auto pending = outbox.undelivered(store.number());
        ASSERT_EQ(pending.size(), 1u);
        EXPECT_EQ(pending[0].attempts, 1);
        EXPECT_NE(pending[0].last_error.find("smtp"), std::string::npos) << pending[0].last_error;
        EXPECT_EQ(pending[0].next_attempt_at, t0 + 30s);
        EXPECT_TRUE(outbox.undelivered(store.number() + 1).empty());
    }

    // The server restarts while the mail server is still down; then the mail server is back.
    store.open();
    LedgerOutbox outbox(store.ledger(), delivery_lease(config, 100));
    Dispatcher dispatcher(config, outbox, Backoff{30s, 1h});
    ASSERT_EQ(outbox.undelivered().size(), 1u);
    SmtpPeer smtp(port, store.dir() + "/maildir");
    smtp.start();
    EXPECT_EQ(dispatcher.run_once(t0 + 10s).delivered, 0);  // still backing off
    EXPECT_EQ(outbox.undelivered().size(), 1u);
    EXPECT_EQ(dispatcher.run_once(t0 + 30s).delivered, 1);
    EXPECT_TRUE(outbox.undelivered().empty());
    EXPECT_EQ(dispatcher.run_once(t0 + 1h).delivered, 0);

    const auto mails = smtp.received();
    ASSERT_EQ(mails.size(), 1u);
    EXPECT_NE(mails[0].find("X-RcptTo: pat.owner@example.com"), std::string::npos);
    EXPECT_NE(
        mails[0].find("Subject: [datafix] #" + std::to_string(store.number()) + " applied in prod"),
        std::string::npos)
        << mails[0];
    EXPECT_NE(mails[0].find("SET email = $1, given_name = $2 WHERE id = $3"), std::string::npos);
    expect_no_canary(mails[0], "the received mail");
    // The change text is sealed and the payload never had the literals: none on disk either.
    expect_no_canary(store.all_bytes(), "the ledger's files");
}

TEST(LedgerOutbox, ADispatchLoopDeliversOnceTheMailServerIsBack) {
    LedgerWithRequest store;
    const int port = free_port();
    const NotifyConfig config = mail_config(port);
    LedgerOutbox outbox(store.ledger(), delivery_lease(config, 100));
    Notifier notifier(config, outbox);
    Dispatcher dispatcher(config, outbox, Backoff{200ms, 1s});
    DispatchLoop loop(dispatcher, 100ms);

    const auto now = model::wall_clock_now();
    notifier.notify(store.summary(EventKind::prod_applied, "prod", now), now);
    loop.wake();
    const auto wait_for = [&](const std::function<bool()>& done) {
        for (int i = 0; i < 300 && !done(); ++i) {
            std::this_thread::sleep_for(50ms);
        }
        return done();
    };
    ASSERT_TRUE(wait_for([&] {
        auto pending = outbox.undelivered(store.number());
        return pending.size() == 1 && pending[0].attempts >= 1;
    })) << "the loop never tried";

    SmtpPeer smtp(port, store.dir() + "/maildir");
    smtp.start();
    ASSERT_TRUE(wait_for([&] { return outbox.undelivered().empty(); }))
        << outbox.undelivered().at(0).last_error;
    std::this_thread::sleep_for(300ms);  // a few more rounds: nothing is sent again
    EXPECT_EQ(smtp.received().size(), 1u);
}

TEST(LedgerOutbox, TwoServersOnOneLedgerSendEachMessageOnce) {
    LedgerWithRequest store;
    const int port = free_port();
    SmtpPeer smtp(port, store.dir() + "/maildir");
    smtp.start();
    std::vector<std::string> addresses;
    for (int i = 0; i < 12; ++i) {
        addresses.push_back("owner" + std::to_string(i) + "@example.com");
    }
    const NotifyConfig config = mail_config(port, addresses);
    const auto now = model::wall_clock_now();

    auto other_ledger = store.open_another();
    LedgerOutbox outbox_a(store.ledger(), delivery_lease(config, 3));
    LedgerOutbox outbox_b(*other_ledger, delivery_lease(config, 3));
    Notifier notifier(config, outbox_a);
    ASSERT_EQ(notifier.notify(store.summary(EventKind::prod_applied, "prod", now), now).size(),
              addresses.size());

    Dispatcher dispatcher_a(config, outbox_a);
    Dispatcher dispatcher_b(config, outbox_b);
    std::atomic<int> delivered{0};
    const auto drain = [&](Dispatcher& dispatcher) {
        for (;;) {
            const DispatchReport report = dispatcher.run_once(now, 3);
            delivered += report.delivered;
            if (report.delivered + report.failed == 0) {
                return;
            }
        }
    };
    std::thread a([&] { drain(dispatcher_a); });
    std::thread b([&] { drain(dispatcher_b); });
    a.join();
    b.join();

    EXPECT_EQ(delivered.load(), static_cast<int>(addresses.size()));
    EXPECT_TRUE(outbox_b.undelivered().empty());
    std::multiset<std::string> recipients;
    for (const auto& mail : smtp.received()) {
        const auto at = mail.find("X-RcptTo: ");
        ASSERT_NE(at, std::string::npos);
        recipients.insert(mail.substr(at + 10, mail.find_first_of("\r\n", at) - at - 10));
        expect_no_canary(mail, "a received mail");
    }
    EXPECT_EQ(recipients, std::multiset<std::string>(addresses.begin(), addresses.end()));
}

// A server killed holding a claimed batch: its next life (same instance) sends the batch at
// once instead of after the delivery lease; another server sends it once the dead one's claim
// lapses unrenewed. Each message arrives once.
TEST(LedgerOutbox, ABatchClaimedByAServerThatIsGoneIsReclaimedAndSentOnce) {
    LedgerWithRequest store;
    const int port = free_port();
    SmtpPeer smtp(port, store.dir() + "/maildir");
    smtp.start();
    const std::vector<std::string> addresses = {"owner1@example.com", "owner2@example.com",
                                                "owner3@example.com"};
    const NotifyConfig config = mail_config(port, addresses);
    const auto now = model::wall_clock_now();
    const auto lease = delivery_lease(config, 100);

    LedgerOutbox first_life(store.ledger(), lease, OutboxOwner{"server-a", "first-life", 30s});
    Notifier(config, first_life).notify(store.summary(EventKind::prod_applied, "prod", now), now);
    ASSERT_EQ(first_life.due(now, 100).size(), 3u);  // then killed: nothing sent, nothing marked

    auto restarted = store.open_another();
    LedgerOutbox second_life(*restarted, lease, OutboxOwner{"server-a", "second-life", 30s});
    Dispatcher dispatcher(config, second_life);
    EXPECT_EQ(dispatcher.run_once(now).delivered, 0) << "claimed, and the lease is long";
    EXPECT_EQ(second_life.reclaim(now), 3);
    EXPECT_EQ(dispatcher.run_once(now).delivered, 3);
    EXPECT_EQ(smtp.received().size(), 3u);

    // A different server dies holding a claim: the others take it only once the claim lapses.
    Notifier(config, second_life).notify(store.summary(EventKind::prod_applied, "prod", now), now);
    LedgerOutbox other(store.ledger(), lease, OutboxOwner{"server-b", "b-life", 30s});
    ASSERT_EQ(other.due(now, 100).size(), 3u);
    EXPECT_EQ(second_life.reclaim(now + 29s), 0) << "server-b still vouches for its claim";
    EXPECT_EQ(second_life.reclaim(now + 30s), 3);
    EXPECT_EQ(dispatcher.run_once(now + 30s).delivered, 3);
    EXPECT_EQ(smtp.received().size(), 6u);
    EXPECT_TRUE(second_life.undelivered().empty());
    EXPECT_EQ(LedgerOutbox(store.ledger(), lease).reclaim(now + 1h), 0) << "no owner, no reclaim";
}

// The real transport, with `hang` run before the first delivery: the dispatcher stalls there as a
// server that hangs mid-batch would.
class HangingTransport final : public Transport {
  public:
    HangingTransport(std::unique_ptr<Transport> real, std::function<void()> hang)
        : real_(std::move(real)), hang_(std::move(hang)) {}
    DeliveryResult deliver(const Message& message, const std::string& recipient) override {
        if (hang_) {
            auto hang = std::move(hang_);
            hang_ = nullptr;
            hang();
        }
        return real_->deliver(message, recipient);
    }

  private:
    std::unique_ptr<Transport> real_;
    std::function<void()> hang_;
};

// Server A hangs while sending the first message of its batch, long enough for server B to take
// it for gone, reclaim the batch and send it. When A wakes it finishes the message in flight
// (the one duplicate) and sends none of the rest.
TEST(LedgerOutbox, AServerThatHungAndWokeSkipsWhatAnotherServerReclaimed) {
    LedgerWithRequest store;
    const int port = free_port();
    SmtpPeer smtp(port, store.dir() + "/maildir");
    smtp.start();
    const NotifyConfig config =
        mail_config(port, {"owner1@example.com", "owner2@example.com", "owner3@example.com"});
    const auto now = model::wall_clock_now();
    const auto lease = delivery_lease(config, 100);

    LedgerOutbox hung(store.ledger(), lease, OutboxOwner{"server-a", "a-life", 30s});
    Notifier(config, hung).notify(store.summary(EventKind::prod_applied, "prod", now), now);
    auto other_ledger = store.open_another();
    LedgerOutbox survivor(*other_ledger, lease, OutboxOwner{"server-b", "b-life", 30s});
    Dispatcher survivor_dispatcher(config, survivor);
    int reclaimed = 0;
    int sent_by_survivor = 0;
    Dispatcher hung_dispatcher(config, hung);
    hung_dispatcher.set_transport(
        "mail", std::make_unique<HangingTransport>(make_transport(config.channels[0]), [&] {
            reclaimed = survivor.reclaim(now + 30s);
            sent_by_survivor = survivor_dispatcher.run_once(now + 30s).delivered;
        }));

    const DispatchReport woke = hung_dispatcher.run_once(now);
    EXPECT_EQ(reclaimed, 3);
    EXPECT_EQ(sent_by_survivor, 3);
    EXPECT_EQ(woke.delivered, 1) << "only the message in flight when it hung";
    EXPECT_EQ(woke.failed, 0);
    EXPECT_EQ(smtp.received().size(), 4u);
    EXPECT_TRUE(survivor.undelivered().empty());
}

TEST(LedgerOutbox, LeavesAnEventItDoesNotKnowToANewerServer) {
    LedgerWithRequest store;
    const NotifyConfig config = mail_config(free_port());
    LedgerOutbox outbox(store.ledger(), 10min);
    const auto t0 = LedgerWithRequest::kT0;
    store.ledger().enqueue_notification(
        {"event_of_a_newer_datafix", store.number(), "mail", "pat.owner@example.com", "{}"}, t0);
    EXPECT_TRUE(outbox.due(t0, 10).empty());
    EXPECT_TRUE(outbox.undelivered().empty());
    const auto rows = store.ledger().undelivered_notifications();
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].attempts, 0);
    EXPECT_EQ(rows[0].next_attempt_at, t0 + 10min);  // stepped aside until the lease ends
}

TEST(LedgerOutbox, TheLeaseOutlastsABatchThroughTheSlowestChannel) {
    NotifyConfig config = mail_config(free_port());
    config.channels[0].timeout = 5s;
    EXPECT_EQ(delivery_lease(config, 100), 100 * 2 * 5s + 1min);
    EXPECT_THROW(LedgerOutbox(LedgerWithRequest().ledger(), 0ms), Error);
}

}  // namespace
}  // namespace datafix::notify
