// Delivery to real peers on loopback: Debian's aiosmtpd as the SMTP server (messages land in a
// maildir the test reads) and a cpp-httplib server receiving the webhooks. A canary literal in
// the change never reaches any of them, and a mail server that is down only delays delivery.
#include <gtest/gtest.h>
#include <httplib.h>

#include <mutex>
#include <thread>

#include "delivery_support.hpp"
#include "notify/notifier.hpp"
#include "notify/outbox.hpp"
#include "notify/summary.hpp"
#include "sql/analysis.hpp"

namespace datafix::notify {
namespace {

using namespace std::chrono_literals;

// A real HTTP peer for the webhooks; /fail/... answers 500.
class WebhookPeer {
  public:
    WebhookPeer() {
        server_.Post(R"(/hook/(\w+))", [this](const httplib::Request& req, httplib::Response& res) {
            std::lock_guard lock(mutex_);
            bodies_.push_back({req.matches[1].str(), req.body});
            res.set_content("ok", "text/plain");
        });
        server_.Post(R"(/fail/(\w+))", [](const httplib::Request&, httplib::Response& res) {
            res.status = 500;
            res.set_content("webhook disabled", "text/plain");
        });
        port_ = server_.bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { server_.listen_after_bind(); });
        for (int i = 0; i < 200 && !server_.is_running(); ++i) {
            std::this_thread::sleep_for(10ms);
        }
    }
    ~WebhookPeer() {
        server_.stop();
        thread_.join();
    }
    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(port_) + path;
    }
    std::vector<std::pair<std::string, std::string>> bodies() {
        std::lock_guard lock(mutex_);
        return bodies_;
    }

  private:
    httplib::Server server_;
    int port_ = 0;
    std::thread thread_;
    std::mutex mutex_;
    std::vector<std::pair<std::string, std::string>> bodies_;
};

ChannelConfig webhook_channel(const std::string& name, ChannelKind kind, const std::string& url) {
    ChannelConfig c;
    c.name = name;
    c.kind = kind;
    c.webhook.url = url;
    c.timeout = 5s;
    return c;
}

// A request whose change holds the canaries, at the state where every event can be told.
model::RequestState canary_request() {
    const std::string change = kCanaryChange;
    sql::Analysis analysis = sql::analyze(change, sql::FileRole::change, "change.sql");
    model::RequestState state;
    state.request.number = 42;
    state.request.title = "Correct an applicant's email";
    state.request.requested_by = 3;
    state.claim = model::Claim{1, {}, {}};
    state.pair = model::Pair{2, {}};
    model::Revision revision;
    revision.number = 1;
    revision.hash = std::string(64, 'a');
    revision.change_sql = change;  // present in the state, as in the server
    for (const auto& st : analysis.statements) {
        revision.statements.push_back({st.normalized, st.fingerprint, std::string(64, 'f'), 1});
    }
    state.revisions = {revision};
    for (const std::string env : {"dev", "test", "prod"}) {
        model::Run run;
        run.environment = env;
        run.counts = {1, 1};
        run.fingerprint = std::string(64, 'b');
        run.verify_results = "canary-7f3a9@example.com";  // private, sealed by the ledger
        run.failure = "duplicate key value (email)=(canary-7f3a9@example.com)";
        state.runs.push_back(run);
    }
    return state;
}

std::optional<model::Person> people(model::UserId id) {
    switch (id) {
        case 1:
            return model::Person{1, "Dana Driver", "dana.driver@example.com"};
        case 2:
            return model::Person{2, "Robin Pair", "robin.pair@example.com"};
        case 3:
            return model::Person{3, "Pat Owner", "pat.owner@example.com",
                                 model::Role::product_owner};
    }
    return std::nullopt;
}

TEST(Delivery, NoCanaryLiteralReachesAnyPeer) {
    TempDir dir;
    const int smtp_port = free_port();
    SmtpPeer smtp(smtp_port, dir.path() + "/maildir");
    smtp.start();
    WebhookPeer hooks;

    NotifyConfig config;
    config.base_url = "https://datafix.example.com";
    config.channels = {
        email_channel(smtp_port, StartTls::try_),
        webhook_channel("team", ChannelKind::slack, hooks.url("/hook/slack")),
        webhook_channel("rocket", ChannelKind::rocketchat, hooks.url("/hook/rocket")),
        webhook_channel("teams", ChannelKind::teams, hooks.url("/hook/teams"))};
    config.routes = NotifyConfig::runbook_routes("team", "mail");
    for (auto& [event, routes] : config.routes) {
        routes.push_back(Route{"rocket", {}, {}});
        routes.push_back(Route{"teams", {}, {}});
    }
    MemoryOutbox outbox;
    Notifier notifier(config, outbox);

    const model::RequestState state = canary_request();
    const std::vector<std::pair<EventKind, std::string>> events = {
        {EventKind::request_created, ""},
        {EventKind::claimed, ""},
        {EventKind::pair_wanted, ""},
        {EventKind::test_applied, "test"},
        {EventKind::prod_applied, "prod"},
        {EventKind::failed, "prod"},
        {EventKind::in_doubt, "prod"},
        {EventKind::test_reverted, "test"},
        {EventKind::evidence_to_approve, "dev"},
        {EventKind::revert_to_approve, "test"},
        {EventKind::cancelled, ""}};
    const auto now = model::wall_clock_now();
    for (const auto& [event, env] : events) {
        notifier.notify(summarize(state, event, env, people, now), now);
    }
    for (const auto& row : outbox.all()) {
        for (const auto& canary : kCanaries) {
            ASSERT_EQ(row.content.payload.find(canary), std::string::npos) << canary;
        }
    }

    Dispatcher dispatcher(config, outbox);
    DispatchReport report = dispatcher.run_once(now);
    EXPECT_EQ(report.failed, 0);
    EXPECT_TRUE(outbox.undelivered().empty());

    const auto mails = smtp.received();
    const auto bodies = hooks.bodies();
    // Email: claimed and test applied to the owner; prod applied and test reverted to the owner;
    // failed and in doubt to driver and pair; evidence and a revert to approve to the pair; the
    // cancel to the owner, the driver and the pair.
    EXPECT_EQ(mails.size(), 8u + 2u + 3u);
    // Every event to rocket and teams, and to the team channel where the runbook says.
    EXPECT_EQ(bodies.size(), 11u + 11u + 7u);
    std::vector<std::string> everything = mails;
    for (const auto& [kind, body] : bodies) {
        everything.push_back(body);
    }
    for (const auto& received : everything) {
        for (const auto& canary : kCanaries) {
            EXPECT_EQ(received.find(canary), std::string::npos) << canary << " in:\n" << received;
        }
        EXPECT_NE(received.find("https://datafix.example.com/requests/42"), std::string::npos);
    }
    // What a product owner reads: the normalized statement, counts and hashes.
    bool owner_verify_mail = false;
    for (const auto& mail : mails) {
        if (mail.find("X-RcptTo: pat.owner@example.com") != std::string::npos &&
            mail.find("applied in test, please verify") != std::string::npos) {
            owner_verify_mail = true;
            EXPECT_NE(mail.find("SET email = $1, given_name = $2 WHERE id = $3"), std::string::npos)
                << mail;
            EXPECT_NE(mail.find("rows: 1"), std::string::npos);
            EXPECT_NE(mail.find(std::string(64, 'a')), std::string::npos);
        }
    }
    EXPECT_TRUE(owner_verify_mail);
}

TEST(Delivery, AMailServerThatIsDownOnlyDelaysTheMessage) {
    TempDir dir;
    const int port = free_port();
    NotifyConfig config;
    config.base_url = "https://datafix.example.com";
    config.channels = {email_channel(port)};
    config.routes[EventKind::prod_applied] = {Route{"mail", {}, {PersonRole::product_owner}}};
    MemoryOutbox outbox;
    Notifier notifier(config, outbox);
    Dispatcher dispatcher(config, outbox, Backoff{30s, 1h});

    // The change completes: queueing touches no network.
    const auto t0 = model::from_millis(1735732800000);
    const auto started = std::chrono::steady_clock::now();
    ASSERT_EQ(
        notifier
            .notify(summarize(canary_request(), EventKind::prod_applied, "prod", people, t0), t0)
            .size(),
        1u);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);

    EXPECT_EQ(dispatcher.run_once(t0).failed, 1);
    auto pending = outbox.undelivered(42);
    ASSERT_EQ(pending.size(), 1u);
    EXPECT_NE(pending[0].last_error.find("smtp"), std::string::npos) << pending[0].last_error;
    EXPECT_EQ(pending[0].next_attempt_at, t0 + 30s);

    SmtpPeer smtp(port, dir.path() + "/maildir");
    smtp.start();
    EXPECT_EQ(dispatcher.run_once(t0 + 10s).delivered, 0);  // backing off
    EXPECT_EQ(dispatcher.run_once(t0 + 30s).delivered, 1);
    EXPECT_TRUE(outbox.undelivered().empty());
    const auto mails = smtp.received();
    ASSERT_EQ(mails.size(), 1u);
    EXPECT_NE(mails[0].find("X-RcptTo: pat.owner@example.com"), std::string::npos);
    EXPECT_NE(mails[0].find("Subject: [datafix] #42 applied in prod"), std::string::npos);
}

TEST(Delivery, RequiredStartTlsRefusesAPlainServer) {
    TempDir dir;
    const int port = free_port();
    SmtpPeer smtp(port, dir.path() + "/maildir");
    smtp.start();
    NotifyConfig config;
    config.base_url = "https://datafix.example.com";
    config.channels = {email_channel(port, StartTls::required)};
    config.routes[EventKind::claimed] = {Route{"mail", {"pat.owner@example.com"}, {}}};
    MemoryOutbox outbox;
    Notifier notifier(config, outbox);
    Dispatcher dispatcher(config, outbox);
    const auto now = model::wall_clock_now();
    notifier.notify(summarize(canary_request(), EventKind::claimed, "", people, now), now);
    EXPECT_EQ(dispatcher.run_once(now).failed, 1);
    EXPECT_FALSE(outbox.undelivered().at(0).last_error.empty());
    EXPECT_TRUE(smtp.received().empty());
}

TEST(Delivery, AWebhookErrorIsRetriedNotLost) {
    WebhookPeer hooks;
    NotifyConfig config;
    config.base_url = "https://datafix.example.com";
    config.channels = {webhook_channel("team", ChannelKind::slack, hooks.url("/fail/slack"))};
    config.routes[EventKind::request_created] = {Route{"team", {}, {}}};
    MemoryOutbox outbox;
    Notifier notifier(config, outbox);
    Dispatcher dispatcher(config, outbox);
    const auto now = model::wall_clock_now();
    notifier.notify(summarize(canary_request(), EventKind::request_created, "", people, now), now);
    EXPECT_EQ(dispatcher.run_once(now).failed, 1);
    EXPECT_EQ(outbox.undelivered().at(0).last_error, "webhook: HTTP 500: webhook disabled");
}

}  // namespace
}  // namespace datafix::notify
