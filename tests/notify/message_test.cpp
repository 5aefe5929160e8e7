// Rendering, routing, the outbox and backoff, without a network: what a message may say and
// where it goes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "notify/account_notice.hpp"
#include "notify/channels.hpp"
#include "notify/message.hpp"
#include "notify/notifier.hpp"
#include "notify/outbox.hpp"
#include "notify/summary.hpp"
#include "notify/transport.hpp"

namespace datafix::notify {
namespace {

using namespace std::chrono_literals;

model::Time t0() {
    return model::from_millis(1735732800000);
}

TEST(EventName, RoundTripsEveryEvent) {
    for (auto kind : {EventKind::request_created, EventKind::claimed, EventKind::pair_wanted,
                      EventKind::test_applied, EventKind::prod_applied, EventKind::failed,
                      EventKind::in_doubt, EventKind::test_reverted}) {
        EXPECT_EQ(parse_event(event_name(kind)), kind);
    }
    EXPECT_FALSE(parse_event("deleted").has_value());
}

TEST(NormalizedStatement, KeepsNormalizedTextAndWithholdsLiterals) {
    auto ok = NormalizedStatement::from("UPDATE app_public.app_user SET email = $1 WHERE id = $2");
    EXPECT_FALSE(ok.withheld());
    EXPECT_EQ(ok.text(), "UPDATE app_public.app_user SET email = $1 WHERE id = $2");

    auto raw = NormalizedStatement::from(
        "UPDATE app_public.app_user SET email = 'canary@example.com' WHERE id = 7");
    EXPECT_TRUE(raw.withheld());
    EXPECT_EQ(raw.text().find("canary"), std::string::npos);

    EXPECT_TRUE(NormalizedStatement::from("not sql at all 'canary'").withheld());
    EXPECT_TRUE(NormalizedStatement::from("SELECT 1; SELECT 2").withheld());
}

TEST(Digest, AcceptsLowercaseHexOnly) {
    EXPECT_EQ(Digest::from("00ff12ab").hex(), "00ff12ab");
    EXPECT_EQ(Digest::from("canary@example.com").hex(), "");
    EXPECT_EQ(Digest::from("ABCDEF").hex(), "");
    EXPECT_EQ(Digest::from(std::string(64, 'a')).short_form(), std::string(12, 'a'));
}

ChangeSummary sample_summary(EventKind event) {
    ChangeSummary s;
    s.event = event;
    s.request = 42;
    s.title = "Fix the intake dates\r\nBcc: someone@example.com";
    s.environment = "test";
    s.statements = {
        NormalizedStatement::from("UPDATE app_public.intake SET open_timestamp = $1 "
                                  "WHERE id = $2")};
    s.counts = {3};
    s.revision_hash = Digest::from(std::string(64, 'a'));
    s.fingerprint = Digest::from(std::string(64, 'b'));
    s.product_owner = Contact{"Pat Owner", "pat.owner@example.com"};
    s.driver = Contact{"Dana Driver", "dana.driver@example.com"};
    s.pair = Contact{"Robin Pair", "robin.pair@example.com"};
    s.at = t0();
    return s;
}

// A comment and a request for changes are told by who, never by what: the summary has no field
// for the text, so the message says "X commented" and points to the request's page.
TEST(Render, ACommentIsToldByWhoNotWhat) {
    ChangeSummary c = sample_summary(EventKind::commented);
    c.actor = Contact{"Robin Pair", "robin.pair@example.com"};
    Message m = render(c, "https://datafix.example.com");
    EXPECT_EQ(m.subject.rfind("[datafix] #42 Robin Pair commented: Fix the intake dates", 0), 0u)
        << m.subject;
    EXPECT_EQ(
        m.text.rfind("Robin Pair commented on this request. Read it on the request's page.", 0), 0u)
        << m.text;
    ChangeSummary back = sample_summary(EventKind::changes_requested);
    back.actor = Contact{"Pat Owner", "pat.owner@example.com"};
    Message b = render(back, "https://datafix.example.com");
    EXPECT_NE(b.subject.find("changes requested by Pat Owner"), std::string::npos) << b.subject;
    EXPECT_NE(b.text.find("the request is back with Dana Driver"), std::string::npos) << b.text;
    EXPECT_EQ(parse_event("changes-requested"), EventKind::changes_requested);
    EXPECT_EQ(event_name(EventKind::commented), "commented");
}

TEST(Render, SaysWhatHappenedWithCountsHashesAndTheLink) {
    Message m = render(sample_summary(EventKind::test_applied), "https://datafix.example.com/");
    EXPECT_EQ(m.link, "https://datafix.example.com/requests/42");
    EXPECT_EQ(m.subject.rfind("[datafix] #42 applied in test, please verify: Fix the intake", 0),
              0u)
        << m.subject;
    // The title's line break cannot start a header.
    EXPECT_EQ(m.subject.find('\n'), std::string::npos);
    EXPECT_EQ(m.subject.find('\r'), std::string::npos);
    EXPECT_NE(m.text.find("UPDATE app_public.intake SET open_timestamp = $1 WHERE id = $2"),
              std::string::npos);
    EXPECT_NE(m.text.find("rows: 3"), std::string::npos);
    EXPECT_NE(m.text.find(std::string(64, 'a')), std::string::npos);
    EXPECT_NE(m.text.find("Please verify"), std::string::npos);
    EXPECT_NE(m.text.find(m.link), std::string::npos);

    Message back = message_from_payload(message_to_payload(m));
    EXPECT_EQ(back.subject, m.subject);
    EXPECT_EQ(back.text, m.text);
    EXPECT_EQ(back.link, m.link);
    EXPECT_THROW(message_from_payload("{\"subject\": 1}"), Error);
}

TEST(Render, ClaimedNamesTheDriverAndPair) {
    Message m = render(sample_summary(EventKind::claimed), "https://datafix.example.com");
    EXPECT_NE(m.subject.find("claimed by Dana Driver"), std::string::npos);
    EXPECT_NE(m.text.find("paired with Robin Pair"), std::string::npos);
}

TEST(WebhookBody, HasEachChatServiceShape) {
    Message m{"subject line", "body text", "https://datafix.example.com/requests/1"};
    auto slack = nlohmann::json::parse(webhook_body(ChannelKind::slack, m));
    EXPECT_EQ(slack["text"], "subject line\nbody text");
    auto rocket = nlohmann::json::parse(webhook_body(ChannelKind::rocketchat, m));
    EXPECT_EQ(rocket["text"], "subject line");
    EXPECT_EQ(rocket["attachments"][0]["title_link"], m.link);
    auto teams = nlohmann::json::parse(webhook_body(ChannelKind::teams, m));
    EXPECT_EQ(teams["@type"], "MessageCard");
    EXPECT_EQ(teams["potentialAction"][0]["targets"][0]["uri"], m.link);
}

TEST(EmailText, HasHeadersAndEncodesANonAsciiSubject) {
    Message m{"[datafix] #1 Änderung", "line one\nline two\n", "https://x.example.com"};
    std::string t = email_text(m, "datafix@example.com", "pat.owner@example.com", t0());
    EXPECT_NE(t.find("Subject: =?UTF-8?B?"), std::string::npos);
    EXPECT_NE(t.find("To: pat.owner@example.com\r\n"), std::string::npos);
    EXPECT_NE(t.find("Date: Wed, 01 Jan 2025 12:00:00 +0000\r\n"), std::string::npos);
    EXPECT_NE(t.find("\r\n\r\nline one\r\nline two\r\n"), std::string::npos);
}

TEST(EmailText, TheMessageIdOfAnOutboxRowIsTheSameAtEveryAttempt) {
    auto message_id = [](const std::string& text) {
        auto at = text.find("Message-ID: ");
        return text.substr(at, text.find("\r\n", at) - at);
    };
    Message m{"[datafix] #1 applied", "text\n", "https://x.example.com", "datafix-7-1735732800000"};
    auto first = email_text(m, "datafix@example.com", "pat@example.com", t0());
    auto retry = email_text(m, "datafix@example.com", "pat@example.com", t0() + 90s);
    EXPECT_EQ(message_id(first), message_id(retry));
    auto other = email_text(m, "datafix@example.com", "sam@example.com", t0());
    EXPECT_NE(message_id(first), message_id(other)) << "one Message-ID per recipient";
}

NotifyConfig sample_config() {
    NotifyConfig c;
    c.base_url = "https://datafix.example.com";
    ChannelConfig mail;
    mail.name = "mail";
    mail.kind = ChannelKind::email;
    mail.smtp.url = "smtp://127.0.0.1:1";
    mail.smtp.from = "datafix@example.com";
    ChannelConfig team;
    team.name = "team";
    team.kind = ChannelKind::slack;
    team.webhook.url = "http://127.0.0.1:1/hook";
    c.channels = {mail, team};
    c.routes = NotifyConfig::runbook_routes("team", "mail");
    c.routes[EventKind::prod_applied].push_back(Route{"mail", {"data-team@example.com"}, {}});
    return c;
}

TEST(Notifier, RoutesEachEventToItsChannelsAndPeople) {
    MemoryOutbox outbox;
    Notifier notifier(sample_config(), outbox);
    EXPECT_EQ(notifier.notify(sample_summary(EventKind::request_created), t0()).size(), 1u);
    EXPECT_EQ(notifier.notify(sample_summary(EventKind::claimed), t0()).size(), 1u);
    // prod applied: product owner by email, the team channel, and the team list.
    EXPECT_EQ(notifier.notify(sample_summary(EventKind::prod_applied), t0()).size(), 3u);
    // failed: driver and pair by email, and the team channel.
    EXPECT_EQ(notifier.notify(sample_summary(EventKind::failed), t0()).size(), 3u);

    auto rows = outbox.all();
    ASSERT_EQ(rows.size(), 8u);
    EXPECT_EQ(rows[0].content.channel, "team");
    EXPECT_EQ(rows[0].content.recipient, "");
    EXPECT_EQ(rows[1].content.recipient, "pat.owner@example.com");
    EXPECT_EQ(rows[1].content.event, EventKind::claimed);
    EXPECT_EQ(rows[1].content.request, 42);
    EXPECT_EQ(outbox.undelivered(42).size(), 8u);
    EXPECT_EQ(outbox.undelivered(7).size(), 0u);
}

TEST(NotifyConfig, RefusesRoutesToUnknownOrWrongChannels) {
    NotifyConfig c = sample_config();
    c.routes[EventKind::claimed] = {Route{"nowhere", {}, {}}};
    EXPECT_THROW(c.validate(), Error);
    c = sample_config();
    c.routes[EventKind::claimed] = {Route{"team", {}, {PersonRole::driver}}};
    EXPECT_THROW(c.validate(), Error);
    c = sample_config();
    c.routes[EventKind::claimed] = {Route{"mail", {}, {}}};
    EXPECT_THROW(c.validate(), Error);
    c = sample_config();
    c.channels[0].smtp.url = "http://mail.example.com";
    EXPECT_THROW(c.validate(), Error);
    c = sample_config();
    c.channels[0].smtp.from = "";
    EXPECT_THROW(c.validate(), Error);
    EXPECT_NO_THROW(sample_config().validate());
}

TEST(Backoff, DoublesUpToTheMaximum) {
    Backoff b{30s, 10min};
    EXPECT_EQ(b.after(1), 30s);
    EXPECT_EQ(b.after(2), 60s);
    EXPECT_EQ(b.after(3), 120s);
    EXPECT_EQ(b.after(6), 600s);
    EXPECT_EQ(b.after(60), 600s);
}

class ScriptedTransport : public Transport {
  public:
    explicit ScriptedTransport(std::vector<bool> outcomes) : outcomes_(std::move(outcomes)) {}
    DeliveryResult deliver(const Message& message, const std::string&) override {
        bool ok = calls_ < outcomes_.size() ? outcomes_[calls_] : true;
        ++calls_;
        keys_.push_back(message.delivery_key);
        return ok ? DeliveryResult{true, {}} : DeliveryResult{false, "peer down"};
    }
    std::size_t calls_ = 0;
    std::vector<std::string> keys_;

  private:
    std::vector<bool> outcomes_;
};

TEST(Dispatcher, RetriesWithBackoffUntilDelivered) {
    MemoryOutbox outbox;
    NotifyConfig config = sample_config();
    Notifier notifier(config, outbox);
    notifier.notify(sample_summary(EventKind::request_created), t0());

    Dispatcher dispatcher(config, outbox, Backoff{30s, 1h});
    auto scripted = std::make_unique<ScriptedTransport>(std::vector<bool>{false, false, true});
    ScriptedTransport* transport = scripted.get();
    dispatcher.set_transport("team", std::move(scripted));

    EXPECT_EQ(dispatcher.run_once(t0()).failed, 1);
    auto row = outbox.undelivered().at(0);
    EXPECT_EQ(row.attempts, 1);
    EXPECT_EQ(row.last_error, "peer down");
    EXPECT_EQ(row.next_attempt_at, t0() + 30s);

    EXPECT_EQ(dispatcher.run_once(t0() + 29s).failed, 0);  // not due yet
    EXPECT_EQ(dispatcher.run_once(t0() + 30s).failed, 1);
    EXPECT_EQ(outbox.undelivered().at(0).next_attempt_at, t0() + 90s);
    EXPECT_EQ(dispatcher.run_once(t0() + 90s).delivered, 1);
    EXPECT_TRUE(outbox.undelivered().empty());
    EXPECT_EQ(outbox.all().at(0).delivered_at, t0() + 90s);
    EXPECT_EQ(transport->calls_, 3u);
    EXPECT_EQ(dispatcher.run_once(t0() + 1h).delivered, 0);  // never twice
    // Every attempt carries the row's one delivery key (Message-ID, Idempotency-Key).
    ASSERT_EQ(transport->keys_.size(), 3u);
    EXPECT_FALSE(transport->keys_[0].empty());
    EXPECT_EQ(transport->keys_[1], transport->keys_[0]);
    EXPECT_EQ(transport->keys_[2], transport->keys_[0]);
}

TEST(Dispatcher, KeepsARowWhoseChannelWasRemoved) {
    MemoryOutbox outbox;
    outbox.enqueue({EventKind::failed, 5, "old-channel", "", "{}"}, t0());
    NotifyConfig config = sample_config();
    Dispatcher dispatcher(config, outbox);
    EXPECT_EQ(dispatcher.run_once(t0()).failed, 1);
    EXPECT_NE(outbox.undelivered().at(0).last_error.find("no longer configured"),
              std::string::npos);
}

TEST(DispatchLoop, DeliversInTheBackgroundWhenWoken) {
    MemoryOutbox outbox;
    NotifyConfig config = sample_config();
    Dispatcher dispatcher(config, outbox);
    dispatcher.set_transport("team", std::make_unique<ScriptedTransport>(std::vector<bool>{}));
    Notifier notifier(config, outbox);
    {
        DispatchLoop loop(dispatcher, 1h);
        notifier.notify(sample_summary(EventKind::request_created), model::wall_clock_now());
        loop.wake();
        for (int i = 0; i < 200 && !outbox.undelivered().empty(); ++i) {
            std::this_thread::sleep_for(10ms);
        }
    }
    EXPECT_TRUE(outbox.undelivered().empty());
}

TEST(Summarize, TakesTheCurrentRevisionAndTheLatestRunOfTheEnvironment) {
    model::RequestState state;
    state.request.number = 9;
    state.request.title = "Close intake";
    state.request.requested_by = 3;
    state.claim = model::Claim{1, t0(), t0()};
    model::Revision rev;
    rev.hash = std::string(64, 'c');
    rev.statements = {
        {"DELETE FROM app_public.intake WHERE id = $1", "ff", std::string(64, 'd'), 1}};
    state.revisions = {rev};
    model::Run dev_run;
    dev_run.environment = "dev";
    dev_run.counts = {1};
    dev_run.fingerprint = std::string(64, 'e');
    model::Run test_run = dev_run;
    test_run.environment = "test";
    test_run.counts = {2};
    state.runs = {dev_run, test_run};
    PersonLookup people = [](model::UserId id) -> std::optional<model::Person> {
        if (id == 1) {
            return model::Person{1, "Dana Driver", "dana.driver@example.com"};
        }
        if (id == 3) {
            return model::Person{3, "Pat Owner", "pat.owner@example.com",
                                 model::Role::product_owner};
        }
        return std::nullopt;
    };
    ChangeSummary s = summarize(state, EventKind::test_applied, "test", people, t0());
    EXPECT_EQ(s.request, 9);
    EXPECT_EQ(s.counts, std::vector<std::int64_t>{2});
    EXPECT_EQ(s.revision_hash.hex(), std::string(64, 'c'));
    ASSERT_EQ(s.statements.size(), 1u);
    EXPECT_FALSE(s.statements[0].withheld());
    ASSERT_TRUE(s.product_owner.has_value());
    EXPECT_EQ(s.product_owner->email, "pat.owner@example.com");
    ASSERT_TRUE(s.driver.has_value());
    EXPECT_FALSE(s.pair.has_value());
}

TEST(AuditFooter, EveryDeliveredMessagePublishesTheHead) {
    Message m{"subject", "text\n", "https://datafix.example.com/requests/9"};
    const std::string head = "42:" + std::string(64, 'a');
    append_audit_footer(m, head);
    EXPECT_NE(m.text.find("audit head " + head), std::string::npos) << m.text;
    EXPECT_NE(m.text.find("datafix audit verify --head " + head), std::string::npos);
    EXPECT_EQ(m.text.rfind("text\n", 0), 0u);  // the message itself comes first
    Message none{"subject", "text\n", ""};
    append_audit_footer(none, "");
    EXPECT_EQ(none.text, "text\n");
}

TEST(AccountNotice, TheOwnerHearsOfAnAdminsRotation) {
    NotifyConfig config;
    config.base_url = "https://datafix.example.com/";
    ChannelConfig mail;
    mail.name = "mail";
    mail.kind = ChannelKind::email;
    ChannelConfig chat;
    chat.name = "team";
    chat.kind = ChannelKind::slack;
    config.channels = {mail, chat};
    model::Person owner{4, "Sam Pair", "sam@example.com", model::Role::developer};
    model::Person admin{1, "Alex Admin", "admin@example.com", model::Role::admin};
    auto rows = token_rotated_notices(config, owner, admin);
    ASSERT_EQ(rows.size(), 1u);  // email only: it is about the person's own account
    EXPECT_EQ(rows[0].channel, "mail");
    EXPECT_EQ(rows[0].recipient, "sam@example.com");
    EXPECT_EQ(rows[0].event, "token-rotated");
    Message m = message_from_payload(rows[0].payload);
    EXPECT_NE(m.text.find("Alex Admin"), std::string::npos);
    EXPECT_NE(m.text.find("four eyes"), std::string::npos);
    EXPECT_TRUE(parse_event(rows[0].event).has_value());
}

TEST(AccountNotice, TheOtherAdminsHearOfANewAccountToConfirm) {
    NotifyConfig config;
    ChannelConfig mail;
    mail.name = "mail";
    mail.kind = ChannelKind::email;
    config.channels = {mail};
    model::Person account{7, "Fay Dev", "fay@example.com", model::Role::developer};
    model::Person creator{1, "Alex Admin", "admin@example.com", model::Role::admin};
    model::Person ben{2, "Ben Admin", "ben@example.com", model::Role::admin};
    model::Person gone{3, "Gil Admin", "gil@example.com", model::Role::admin, false};
    model::Person dev{4, "Sam Pair", "sam@example.com", model::Role::developer};
    auto rows = account_created_notices(config, account, creator, {creator, ben, gone, dev});
    // Only the active admins other than the creator.
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].recipient, "ben@example.com");
    EXPECT_EQ(rows[0].event, "account-created");
    Message m = message_from_payload(rows[0].payload);
    EXPECT_NE(m.text.find("Alex Admin"), std::string::npos) << m.text;
    EXPECT_NE(m.text.find("datafix users confirm 7"), std::string::npos) << m.text;
    EXPECT_TRUE(parse_event(rows[0].event).has_value());
}

}  // namespace
}  // namespace datafix::notify
