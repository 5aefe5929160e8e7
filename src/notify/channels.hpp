// The notification configuration: channels (SMTP email, chat webhooks) and the routes that say
// which events go to which channels and people. Built by the server from datafix.toml.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "notify/event.hpp"

namespace datafix::notify {

enum class ChannelKind {
    email,       // SMTP through libcurl
    slack,       // Slack incoming webhook: {"text": ...}
    rocketchat,  // Rocket.Chat incoming webhook: text + attachment with title link
    teams,       // Microsoft Teams incoming webhook: MessageCard
};

enum class StartTls {
    none,      // plain SMTP (a relay on localhost)
    try_,      // use STARTTLS when offered (CURLUSESSL_TRY)
    required,  // refuse to send without it (CURLUSESSL_ALL)
};

struct SmtpSettings {
    std::string url;  // smtp://mail.example.com:587 or smtps://...:465
    StartTls starttls = StartTls::required;
    std::string username;  // empty: no authentication
    std::string password;
    std::string from;  // "datafix@example.com"
    bool verify_peer = true;
    std::string ca_file;  // empty: the system's
};

struct WebhookSettings {
    std::string url;
};

struct ChannelConfig {
    std::string name;  // referenced by routes
    ChannelKind kind = ChannelKind::email;
    SmtpSettings smtp;
    WebhookSettings webhook;
    std::chrono::milliseconds timeout{10000};
};

// Who receives an event on an email channel: fixed addresses and/or the request's people.
enum class PersonRole {
    product_owner,
    driver,
    pair,
};

struct Route {
    std::string channel;
    std::vector<std::string> addresses;  // email channels: fixed recipients (e.g. the team list)
    std::vector<PersonRole> people;      // email channels: the request's people
};

struct NotifyConfig {
    std::string base_url;  // the server's public URL, for links
    std::vector<ChannelConfig> channels;
    std::map<EventKind, std::vector<Route>> routes;

    const ChannelConfig* find_channel(const std::string& name) const;
    // Error(config) naming the key at fault: unknown channel in a route, email channel without
    // url/from, webhook without url, people on a chat channel.
    void validate() const;

    // The runbook's routing: created/pair wanted -> team; claimed/test applied -> product owner;
    // prod applied -> product owner and team; failed/in doubt/test reverted -> driver, pair, team;
    // evidence or a revert to approve -> the pair; cancelled -> product owner, driver, pair, team.
    // `team_channel` is a chat channel, `email_channel` an email channel.
    static std::map<EventKind, std::vector<Route>> runbook_routes(const std::string& team_channel,
                                                                  const std::string& email_channel);
};

}  // namespace datafix::notify
