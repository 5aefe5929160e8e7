// Checking the notification configuration, and the runbook's default routing.
#include "notify/channels.hpp"

#include "core/error.hpp"

namespace datafix::notify {

const ChannelConfig* NotifyConfig::find_channel(const std::string& name) const {
    for (const auto& c : channels) {
        if (c.name == name) {
            return &c;
        }
    }
    return nullptr;
}

void NotifyConfig::validate() const {
    for (const auto& c : channels) {
        const std::string key = "notify.channels." + c.name;
        if (c.kind == ChannelKind::email) {
            if (c.smtp.url.rfind("smtp://", 0) != 0 && c.smtp.url.rfind("smtps://", 0) != 0) {
                throw Error(ErrorCode::config, key + ".url must be an smtp:// or smtps:// URL",
                            "e.g. url = \"smtp://mail.example.com:587\"");
            }
            if (c.smtp.from.empty()) {
                throw Error(ErrorCode::config, key + ".from is missing",
                            "set the sender address, e.g. from = \"datafix@example.com\"");
            }
        } else if (c.webhook.url.rfind("https://", 0) != 0 &&
                   c.webhook.url.rfind("http://", 0) != 0) {
            throw Error(ErrorCode::config, key + ".url must be an http(s):// webhook URL",
                        "paste the incoming webhook URL of the chat channel");
        }
    }
    for (const auto& [event, event_routes] : routes) {
        for (const auto& route : event_routes) {
            const std::string key = "notify.routes." + std::string(event_name(event));
            const ChannelConfig* channel = find_channel(route.channel);
            if (channel == nullptr) {
                throw Error(ErrorCode::config,
                            key + " names unknown channel \"" + route.channel + "\"",
                            "define it under [notify.channels." + route.channel + "]");
            }
            if (channel->kind != ChannelKind::email &&
                (!route.people.empty() || !route.addresses.empty())) {
                throw Error(ErrorCode::config,
                            key + " gives recipients to chat channel \"" + route.channel + "\"",
                            "recipients apply to email channels only");
            }
            if (channel->kind == ChannelKind::email && route.people.empty() &&
                route.addresses.empty()) {
                throw Error(ErrorCode::config,
                            key + " sends email on \"" + route.channel + "\" to nobody",
                            "add addresses or people (product_owner, driver, pair)");
            }
        }
    }
}

std::map<EventKind, std::vector<Route>> NotifyConfig::runbook_routes(
    const std::string& team_channel, const std::string& email_channel) {
    const Route team{team_channel, {}, {}};
    const Route owner{email_channel, {}, {PersonRole::product_owner}};
    const Route developers{email_channel, {}, {PersonRole::driver, PersonRole::pair}};
    const Route pair{email_channel, {}, {PersonRole::pair}};
    const Route everyone{
        email_channel, {}, {PersonRole::product_owner, PersonRole::driver, PersonRole::pair}};
    return {
        {EventKind::request_created, {team}},
        {EventKind::claimed, {owner}},
        {EventKind::pair_wanted, {team}},
        {EventKind::test_applied, {owner}},
        {EventKind::prod_applied, {owner, team}},
        {EventKind::failed, {developers, team}},
        {EventKind::in_doubt, {developers, team}},
        {EventKind::test_reverted, {owner, team}},
        {EventKind::evidence_to_approve, {pair}},
        {EventKind::revert_to_approve, {pair}},
        {EventKind::cancelled, {everyone, team}},
        {EventKind::commented, {owner, developers}},
        {EventKind::changes_requested, {owner, developers}},
    };
}

}  // namespace datafix::notify
