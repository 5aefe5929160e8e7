// Notification delivery across a crash: a real server killed (SIGKILL) at the outbox's fault
// points — after it claimed a batch and before it sent anything (`notify.claimed`), and after a
// peer accepted a message but before the outbox recorded it (`notify.delivered`) — then started
// again, or left dead (or stopped past its heartbeat lease, then woken) beside a second server on
// the same PostgreSQL ledger. The receivers are aiosmtpd and an HTTP peer on loopback; what they
// got is counted per outbox row, by the mail's Message-ID and recipient and by the webhook's
// Idempotency-Key. Nothing is lost, only a message delivered when the server died is sent again
// (once, with the same key), and the resend comes right after the restart or from the survivor,
// not after the delivery lease (~17 minutes).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include "crash_steps.hpp"
#include "notify/delivery_support.hpp"

namespace datafix::e2e {
namespace {

using notify::free_port;

constexpr int kMails = 49;  // plus one webhook: 50 outbox rows for one new request

// The team's chat channel: keeps the Idempotency-Key of every webhook call it answers.
class KeyedWebhook {
  public:
    KeyedWebhook() : port_(free_port()) {
        server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
            std::lock_guard lock(mutex_);
            keys_.push_back(req.get_header_value("Idempotency-Key"));
            res.set_content("ok", "text/plain");
        });
        thread_ = std::thread([this] { server_.listen("127.0.0.1", port_); });
        for (int i = 0; i < 200 && !notify::accepts_connections(port_); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
        }
    }
    ~KeyedWebhook() {
        server_.stop();
        thread_.join();
    }
    KeyedWebhook(const KeyedWebhook&) = delete;
    KeyedWebhook& operator=(const KeyedWebhook&) = delete;

    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
    std::vector<std::string> keys() {
        std::lock_guard lock(mutex_);
        return keys_;
    }

  private:
    int port_;
    httplib::Server server_;
    std::mutex mutex_;
    std::vector<std::string> keys_;
    std::thread thread_;
};

std::string reader(int i) {
    return "reader" + std::to_string(i) + "@example.com";
}

// One new request queues kMails mails and one webhook call. `webhook_first` decides which row
// is the oldest, hence the one delivered just before a kill at notify.delivered. The poll
// interval is an hour: whatever is delivered after a crash was woken by a reclaim.
ServerOptions fifty_messages(int smtp_port, const std::string& webhook_url, bool webhook_first) {
    std::string addresses;
    for (int i = 1; i <= kMails; ++i) {
        addresses += (i > 1 ? ", \"" : "\"") + reader(i) + "\"";
    }
    const std::string mail_route = "{channel = \"mail\", addresses = [" + addresses + "]}";
    ServerOptions options;
    options.sections =
        "\n[notify]\nbase_url = \"https://datafix.example.com\"\n"
        "poll_interval = \"1h\"\nretry_first = \"1s\"\nretry_max = \"2s\"\n"
        "[notify.channels.team]\nkind = \"slack\"\nurl = \"" +
        webhook_url +
        "\"\ntimeout = \"5s\"\n"
        "[notify.channels.mail]\nkind = \"email\"\nurl = \"smtp://127.0.0.1:" +
        std::to_string(smtp_port) +
        "\"\nstarttls = \"none\"\nfrom = \"datafix@example.com\"\ntimeout = \"5s\"\n"
        "[notify.routes]\nrequest-created = [" +
        (webhook_first ? "\"team\", " + mail_route : mail_route + ", \"team\"") + "]\n";
    return options;
}

// A header's value in a received mail (names are case-insensitive).
std::string header(const std::string& mail, const std::string& name) {
    std::istringstream lines(mail);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.size() > name.size() && line[name.size()] == ':') {
            std::string head = line.substr(0, name.size());
            if (std::equal(head.begin(), head.end(), name.begin(), name.end(),
                           [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
                std::string value = line.substr(name.size() + 1);
                value.erase(0, value.find_first_not_of(' '));
                value.erase(value.find_last_not_of("\r ") + 1);
                return value;
            }
        }
    }
    return "";
}

// What the receivers got, per outbox row: a mail row is its recipient (one row per address),
// the webhook row its Idempotency-Key.
struct Received {
    std::map<std::string, std::vector<std::string>> mails;  // recipient -> Message-IDs
    std::map<std::string, int> webhooks;                    // Idempotency-Key -> calls

    int deliveries() const {
        int n = 0;
        for (const auto& [to, ids] : mails) {
            n += static_cast<int>(ids.size());
        }
        for (const auto& [key, calls] : webhooks) {
            n += calls;
        }
        return n;
    }
    int rows() const { return static_cast<int>(mails.size() + webhooks.size()); }
};

Received received(const notify::SmtpPeer& smtp, KeyedWebhook& team) {
    Received r;
    for (const auto& mail : smtp.received()) {
        r.mails[header(mail, "To")].push_back(header(mail, "Message-ID"));
    }
    for (const auto& key : team.keys()) {
        ++r.webhooks[key];
    }
    return r;
}

// Files the request on a server armed to die at a notification fault point; its answer may or
// may not come before the dispatcher reaches the point.
void file_request_until_killed(ServerFixture& s, const Team& t, const std::string& fault) {
    s.post(t.po, "/api/requests",
           {{"title", "Correct an applicant's family name"},
            {"reason", "asked by phone"},
            {"requested_date", "2026-12-01"},
            {"ticket", "https://tickets.example.com/DF-7"}});
    ASSERT_TRUE(s.wait_for_exit(std::chrono::seconds(30)))
        << "the server did not die at " << fault << "\n"
        << s.server_log();
}

// Every row arrived (49 recipients, one webhook key), each mail row under one Message-ID.
// Returns the deliveries beyond one per row.
int expect_every_row_delivered(const Received& after, const Received& before_restart) {
    EXPECT_EQ(static_cast<int>(after.mails.size()), kMails) << "a mail was lost";
    for (int i = 1; i <= kMails; ++i) {
        auto found = after.mails.find(reader(i));
        if (found == after.mails.end()) {
            ADD_FAILURE() << "no mail to " << reader(i);
            continue;
        }
        const std::set<std::string> ids(found->second.begin(), found->second.end());
        EXPECT_EQ(ids.size(), 1u) << "every copy of one row's mail has its Message-ID";
        EXPECT_FALSE(found->second.front().empty());
    }
    EXPECT_EQ(after.webhooks.size(), 1u) << "one webhook row, one Idempotency-Key";
    for (const auto& [key, calls] : after.webhooks) {
        EXPECT_EQ(key.rfind("datafix-", 0), 0u) << key;
    }
    // A row is sent twice only when it was out before the kill: then exactly twice.
    for (const auto& [to, ids] : after.mails) {
        const bool out_before = before_restart.mails.contains(to);
        EXPECT_EQ(static_cast<int>(ids.size()), out_before ? 2 : 1) << to;
    }
    for (const auto& [key, calls] : after.webhooks) {
        const bool out_before = before_restart.webhooks.contains(key);
        EXPECT_EQ(calls, out_before ? 2 : 1) << key;
    }
    return after.deliveries() - after.rows();
}

bool all_delivered(ServerFixture& s, const Team& t) {
    Answer state = s.get(t.po, req(1));
    return state.status == 200 && state.body["undelivered"].empty();
}

struct Receivers {
    notify::TempDir maildir;
    int smtp_port = free_port();
    notify::SmtpPeer smtp{smtp_port, maildir.path() + "/maildir"};
    KeyedWebhook team;
};

// Kills the server at `fault` while it delivers the 50 messages of a new request, restarts it,
// and returns the duplicates the receivers got.
int killed_and_restarted(const std::string& fault, bool webhook_first) {
    Receivers r;
    r.smtp.start();
    ServerFixture s(fifty_messages(r.smtp_port, r.team.url(), webhook_first));
    Team t = make_team(s);
    s.restart({{"DATAFIX_FAULT", fault}});
    file_request_until_killed(s, t, fault);
    const Received before = received(r.smtp, r.team);
    if (fault == "notify.claimed") {
        EXPECT_EQ(before.deliveries(), 0) << "killed before its first delivery";
    } else {
        EXPECT_EQ(before.deliveries(), 1) << "killed right after its first delivery";
        EXPECT_EQ(webhook_first ? before.webhooks.size() : before.mails.size(), 1u);
    }

    // The restarted server reclaims what its earlier life held, before it listens: the wait is
    // bounded far below the delivery lease, and the poll interval is an hour.
    s.restart({{"DATAFIX_FAULT", ""}});
    EXPECT_TRUE(eventually([&] { return all_delivered(s, t); }, std::chrono::seconds(60)))
        << s.get(t.po, req(1)).body["undelivered"].dump() << s.server_log();
    EXPECT_NE(s.server_log().find("reclaimed 50 notification"), std::string::npos)
        << s.server_log();
    return expect_every_row_delivered(received(r.smtp, r.team), before);
}

TEST(OutboxCrash, KilledAfterClaimingBeforeSendingEveryMessageGoesOutOnceAfterTheRestart) {
    EXPECT_EQ(killed_and_restarted("notify.claimed", true), 0);
}

TEST(OutboxCrash, KilledAfterAMailWentOutThatMailAloneIsSentAgainWithItsMessageId) {
    const int duplicates = killed_and_restarted("notify.delivered", false);
    EXPECT_EQ(duplicates, 1);
    std::cout << "outbox crash: 50 queued, killed once after a delivery: " << duplicates
              << " duplicate(s)\n";
    ::testing::Test::RecordProperty("duplicates_of_50", duplicates);
}

TEST(OutboxCrash, KilledAfterAWebhookWentOutThatCallAloneIsRepeatedWithItsKey) {
    EXPECT_EQ(killed_and_restarted("notify.delivered", true), 1);
}

testing::PgCluster& ledger_cluster() {
    static std::unique_ptr<testing::PgCluster> c = testing::PgCluster::create("e2eoutbox");
    return *c;
}

ServerOptions on_shared_ledger(ServerOptions options) {
    static int counter = 0;
    std::string name = "outbox_ledger_" + std::to_string(++counter);
    ledger_cluster().psql("CREATE DATABASE " + name, "postgres");
    options.server_settings =
        "ledger = \"postgresql:" + ledger_cluster().conninfo(name) + "\"\nrun_lease = \"2s\"\n";
    return options;
}

// The dead server's claimed batch is delivered by the survivor once the dead one's heartbeat
// lapses, with no restart.
TEST(OutboxCrash, TheOtherServerDeliversWhatAKilledServerHadClaimed) {
    Receivers r;
    r.smtp.start();
    ServerFixture s(on_shared_ledger(fifty_messages(r.smtp_port, r.team.url(), false)));
    Team t = make_team(s);
    s.restart({{"DATAFIX_FAULT", "notify.delivered"}});
    s.start_peer("peer");
    file_request_until_killed(s, t, "notify.delivered");
    const Received before = received(r.smtp, r.team);
    EXPECT_EQ(before.deliveries(), 1) << "killed right after its first delivery";

    auto peer_done = [&] {
        Answer state = s.peer_get(t.po, req(1));
        return state.status == 200 && state.body["undelivered"].empty();
    };
    EXPECT_TRUE(eventually(peer_done, std::chrono::seconds(60)))
        << s.peer_get(t.po, req(1)).body["undelivered"].dump();
    EXPECT_EQ(expect_every_row_delivered(received(r.smtp, r.team), before), 1);
}

// A server that hangs (SIGSTOP) right after a delivery, past its heartbeat lease: the other server
// reclaims and sends the batch; when the hung one wakes it records the message in flight and
// sends none of the rest (they are no longer its claim).
TEST(OutboxCrash, AServerThatHungAndWokeSendsNothingTheOtherServerReclaimed) {
    Receivers r;
    r.smtp.start();
    ServerFixture s(on_shared_ledger(fifty_messages(r.smtp_port, r.team.url(), false)));
    Team t = make_team(s);
    s.restart({{"DATAFIX_FAULT", "notify.delivered:stop"}});
    s.start_peer("peer");
    // The process may stop before it answers: the answer comes once it is resumed.
    std::thread filing([&] { file_request(s, t); });
    EXPECT_TRUE(eventually([&] { return s.is_stopped(); }, std::chrono::seconds(30)))
        << s.server_log();
    const Received before = received(r.smtp, r.team);
    EXPECT_EQ(before.deliveries(), 1) << "stopped right after its first delivery";

    auto peer_done = [&] {
        Answer state = s.peer_get(t.po, req(1));
        return state.status == 200 && state.body["undelivered"].empty();
    };
    EXPECT_TRUE(eventually(peer_done, std::chrono::seconds(60)))
        << s.peer_get(t.po, req(1)).body["undelivered"].dump();

    s.resume();
    filing.join();
    // A server that stops finishes the batch in hand first (its delivery loop is joined), so
    // once it has exited, whatever it was going to send has been sent.
    s.stop();
    EXPECT_EQ(expect_every_row_delivered(received(r.smtp, r.team), before), 1);
}

}  // namespace
}  // namespace datafix::e2e
