// Notifications of the runbook through a real server: the product owner gets "test applied" and
// "prod applied" mails from aiosmtpd, the team's webhook gets "request created", no canary literal
// of the change is in any of them, and a mail server that is down only delays the mail: the change
// completes, `datafix show` lists the undelivered message (its delivery error to admins only), and
// it arrives once the server is up. The pair is mailed what waits on them (evidence to approve, a
// revert to approve before a new revision), and everyone on a request hears of its cancel.
#include <gtest/gtest.h>

#include <mutex>
#include <regex>

#include "notify/delivery_support.hpp"
#include "runbook_steps.hpp"

namespace datafix::e2e {

namespace {

using notify::free_port;

const char* kCanary = "Canaryfamily-5521";
const std::string kCanaryChange =
    std::string("UPDATE app_public.app_user SET family_name = '") + kCanary + "' WHERE id = 3;\n";

// The team's chat channel: an in-process HTTP peer keeping every body it receives.
class WebhookReceiver {
  public:
    WebhookReceiver() : port_(free_port()) {
        server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
            std::lock_guard lock(mutex_);
            bodies_.push_back(req.body);
            res.set_content("ok", "text/plain");
        });
        thread_ = std::thread([this] { server_.listen("127.0.0.1", port_); });
        for (int i = 0; i < 200 && !notify::accepts_connections(port_); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
        }
    }
    ~WebhookReceiver() {
        server_.stop();
        thread_.join();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
    std::vector<std::string> bodies() {
        std::lock_guard lock(mutex_);
        return bodies_;
    }

  private:
    int port_;
    httplib::Server server_;
    std::mutex mutex_;
    std::vector<std::string> bodies_;
    std::thread thread_;
};

ServerOptions notifying(int smtp_port, const std::string& webhook_url) {
    ServerOptions options;
    options.sections =
        "\n[notify]\nbase_url = \"https://datafix.example.com\"\n"
        "poll_interval = \"1s\"\nretry_first = \"1s\"\nretry_max = \"2s\"\n"
        "[notify.channels.team]\nkind = \"slack\"\nurl = \"" +
        webhook_url +
        "\"\ntimeout = \"5s\"\n"
        "[notify.channels.mail]\nkind = \"email\"\nurl = \"smtp://127.0.0.1:" +
        std::to_string(smtp_port) +
        "\"\nstarttls = \"none\"\nfrom = \"datafix@example.com\"\n"
        "timeout = \"5s\"\n";
    return options;
}

// Waits (up to 30 s) until `done` holds.
template <class Check>
bool eventually(Check done) {
    for (int i = 0; i < 300; ++i) {
        if (done()) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return done();
}

bool any_contains(const std::vector<std::string>& texts, const std::string& a,
                  const std::string& b = "") {
    for (const auto& t : texts) {
        if (t.find(a) != std::string::npos && (b.empty() || t.find(b) != std::string::npos)) {
            return true;
        }
    }
    return false;
}

void through_test(ServerFixture& s, const Team& t, long long n) {
    prepare(s, t, n, kCanaryChange);
    promote(s, t, n, "dev");
    promote(s, t, n, "test");
}

}  // namespace

TEST(Notify, TheProductOwnerAndTheTeamHearOfEachMomentWithoutTheChangesValues) {
    notify::TempDir maildir;
    int smtp_port = free_port();
    notify::SmtpPeer smtp(smtp_port, maildir.path() + "/maildir");
    smtp.start();
    WebhookReceiver team;
    ServerFixture s(notifying(smtp_port, team.url()));
    Team t = make_team(s);
    long long n = file_request(s, t);
    through_test(s, t, n);
    nlohmann::json st = state_of(s, t.po, n);
    ASSERT_EQ(
        s.post(t.po, req(n, "/approve-production"), {{"revision_hash", revision_hash(st)}}).status,
        200);
    promote(s, t, n, "prod");
    ASSERT_EQ(s.post(t.dana, env_path(n, "test", "revert"), {}).status, 200);

    const std::string to_priya = "To: priya@example.com";
    EXPECT_TRUE(eventually([&] {
        auto mails = smtp.received();
        return any_contains(mails, to_priya, "committed in test") &&
               any_contains(mails, to_priya, "committed in prod");
    })) << "mails received: "
        << smtp.received().size();
    EXPECT_TRUE(eventually([&] { return any_contains(team.bodies(), "needs a driver"); }))
        << "webhooks received: " << team.bodies().size();
    EXPECT_TRUE(eventually([&] { return state_of(s, t.po, n)["undelivered"].empty(); }))
        << state_of(s, t.po, n)["undelivered"].dump();

    std::vector<std::string> everything = smtp.received();
    for (const auto& body : team.bodies()) {
        everything.push_back(body);
    }
    for (const auto& message : everything) {
        EXPECT_EQ(message.find(kCanary), std::string::npos) << message;
        EXPECT_EQ(message.find("Canaryfamily"), std::string::npos) << message;
    }
    EXPECT_TRUE(
        any_contains(everything, "https://datafix.example.com/requests/" + std::to_string(n)));
    EXPECT_EQ(s.server_log().find(kCanary), std::string::npos);

    // Every message publishes the audit head outside the ledger; the chain still holds it.
    const std::regex footer("audit head ([0-9]+:[0-9a-f]{64})");
    std::string head;
    for (const auto& mail : smtp.received()) {
        EXPECT_TRUE(std::regex_search(mail, footer)) << mail;
        std::smatch m;
        if (std::regex_search(mail, m, footer)) {
            head = m[1];
        }
    }
    ASSERT_FALSE(head.empty());
    auto verify = s.cli(s.admin_token(), {"audit", "verify", "--head", head});
    EXPECT_EQ(verify.status, 0) << verify.out << verify.err;
}

TEST(Notify, AMailServerThatIsDownDelaysTheMailButNotTheChange) {
    notify::TempDir maildir;
    int smtp_port = free_port();
    notify::SmtpPeer smtp(smtp_port, maildir.path() + "/maildir");  // not started yet
    WebhookReceiver team;
    ServerFixture s(notifying(smtp_port, team.url()));
    Team t = make_team(s);
    long long n = file_request(s, t);
    through_test(s, t, n);
    EXPECT_EQ(s.psql("test", "SELECT family_name FROM app_public.app_user WHERE id = 3"),
              std::string(kCanary) + "\n");

    // The mail to the product owner waits, visibly, with its failed attempts; the mail server's
    // error is for admins, who can act on it.
    std::string error;  // the mail server's refusal, as an admin is shown it
    auto pending_test_mail = [&](const nlohmann::json& undelivered, bool with_error) {
        for (const auto& m : undelivered) {
            if (m["event"] == "test-applied" && m["channel"] == "mail" &&
                m["recipient"] == "priya@example.com" && m["attempts"].get<int>() >= 1 &&
                (with_error ? m["last_error"].is_string() && !m["last_error"].empty()
                            : m["last_error"].is_null())) {
                if (with_error) {
                    error = m["last_error"];
                }
                return true;
            }
        }
        return false;
    };
    EXPECT_TRUE(eventually([&] {
        return pending_test_mail(state_of(s, s.admin_token(), n)["undelivered"], true);
    })) << state_of(s, s.admin_token(), n)["undelivered"].dump();
    EXPECT_TRUE(pending_test_mail(state_of(s, t.po, n)["undelivered"], false))
        << state_of(s, t.po, n)["undelivered"].dump();
    ASSERT_FALSE(error.empty());
    auto show = s.cli(t.po, {"show", std::to_string(n)});
    EXPECT_EQ(show.status, 0) << show.err;
    EXPECT_NE(show.out.find("undelivered notifications"), std::string::npos) << show.out;
    EXPECT_NE(show.out.find("test-applied"), std::string::npos) << show.out;
    EXPECT_NE(show.out.find("retrying"), std::string::npos) << show.out;
    EXPECT_EQ(show.out.find(error.substr(0, std::min<std::size_t>(error.size(), 40))),
              std::string::npos)
        << show.out;
    // An attempt in flight shows no error for a moment; the next failure shows it again.
    testing::ProcessResult admin_show;
    EXPECT_TRUE(eventually([&] {
        admin_show = s.cli(s.admin_token(), {"show", std::to_string(n)});
        return admin_show.out.find(error.substr(0, std::min<std::size_t>(error.size(), 40))) !=
               std::string::npos;
    })) << admin_show.out;
    EXPECT_TRUE(any_contains(team.bodies(), "needs a driver"));

    smtp.start();
    EXPECT_TRUE(eventually([&] {
        return any_contains(smtp.received(), "To: priya@example.com", "committed in test");
    }));
    EXPECT_TRUE(eventually([&] { return state_of(s, t.po, n)["undelivered"].empty(); }))
        << state_of(s, t.po, n)["undelivered"].dump();
    for (const auto& mail : smtp.received()) {
        EXPECT_EQ(mail.find(kCanary), std::string::npos) << mail;
    }
}

TEST(Notify, ThePairHearsWhatWaitsOnThemAndEveryoneHearsOfACancel) {
    notify::TempDir maildir;
    int smtp_port = free_port();
    notify::SmtpPeer smtp(smtp_port, maildir.path() + "/maildir");
    smtp.start();
    WebhookReceiver team;
    ServerFixture s(notifying(smtp_port, team.url()));
    Team t = make_team(s);
    long long n = file_request(s, t);
    prepare(s, t, n, kCanaryChange);
    ASSERT_EQ(s.post(t.dana, env_path(n, "dev", "preview"), {}).status, 200);
    const std::string to_sam = "To: sam@example.com";
    EXPECT_TRUE(eventually([&] {
        return any_contains(smtp.received(), to_sam,
                            "the evidence of the preview in dev waits for your approval");
    })) << "mails received: "
        << smtp.received().size();
    EXPECT_TRUE(
        any_contains(smtp.received(), to_sam, "datafix approve " + std::to_string(n) + " dev"));
    nlohmann::json st = state_of(s, t.sam, n);
    ASSERT_EQ(
        s.post(t.sam, env_path(n, "dev", "approve"),
               {{"revision_hash", revision_hash(st)}, {"fingerprint", fingerprint(st, "dev")}})
            .status,
        200);
    ASSERT_EQ(s.post(t.dana, env_path(n, "dev", "apply"), {{"fingerprint", fingerprint(st, "dev")}})
                  .status,
              200);

    // A new revision while dev holds the first: the pair is asked to approve dev's revert.
    Answer second = s.post(
        t.dana, req(n, "/revisions"),
        {{"change_sql", "UPDATE app_public.app_user SET family_name = 'Other' WHERE id = 3;\n"},
         {"expected", {1}},
         {"revert_first", true}});
    ASSERT_EQ(second.status, 200) << second.body.dump();
    EXPECT_TRUE(eventually([&] {
        return any_contains(smtp.received(), to_sam, "the data in dev still holds revision 1");
    }));
    EXPECT_TRUE(any_contains(smtp.received(), "still holds revision 1. Revision 2 starts again"));

    // A cancel: the product owner, the driver and the pair, each told dev still holds a change.
    ASSERT_EQ(s.post(t.po, req(n, "/cancel"), {{"reason", "not needed"}}).status, 200);
    for (const char* who : {"priya", "dana", "sam"}) {
        const std::string to = std::string("To: ") + who + "@example.com";
        EXPECT_TRUE(eventually([&] {
            return any_contains(smtp.received(), to, "The request was cancelled");
        })) << who;
    }
    EXPECT_TRUE(any_contains(smtp.received(), "The data in dev still holds its change"));
    EXPECT_TRUE(eventually([&] { return any_contains(team.bodies(), "cancelled"); }));
    std::vector<std::string> everything = smtp.received();
    for (const auto& body : team.bodies()) {
        everything.push_back(body);
    }
    for (const auto& message : everything) {
        EXPECT_EQ(message.find("Canaryfamily"), std::string::npos) << message;
        EXPECT_EQ(message.find("not needed"), std::string::npos) << message;
    }
}

}  // namespace datafix::e2e
