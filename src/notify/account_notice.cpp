// The account notices: names and ids only.
#include "notify/account_notice.hpp"

#include "notify/message.hpp"

namespace datafix::notify {

namespace {

std::string base_of(const NotifyConfig& config) {
    std::string base = config.base_url;
    while (!base.empty() && base.back() == '/') {
        base.pop_back();
    }
    return base;
}

void to_email_channels(const NotifyConfig& config, EventKind kind, const std::string& address,
                       const Message& message, std::vector<ledger::NewNotificationRow>& rows) {
    const std::string payload = message_to_payload(message);
    for (const ChannelConfig& channel : config.channels) {
        if (channel.kind == ChannelKind::email) {
            rows.push_back(ledger::NewNotificationRow{std::string(event_name(kind)), std::nullopt,
                                                      channel.name, address, payload});
        }
    }
}

}  // namespace

std::vector<ledger::NewNotificationRow> token_rotated_notices(const NotifyConfig& config,
                                                              const model::Person& owner,
                                                              const model::Person& admin) {
    std::vector<ledger::NewNotificationRow> rows;
    if (owner.email.empty()) {
        return rows;
    }
    Message message;
    message.subject = "[datafix] your token was replaced by an administrator";
    message.text = "Administrator " + admin.name + " (user " + std::to_string(admin.id) +
                   ") replaced your datafix token; the one you had no longer works.\n"
                   "Steps taken with the new token count as " +
                   admin.name +
                   "'s too for four eyes. If you did not ask for this, tell your team now.\n";
    message.link = base_of(config);
    to_email_channels(config, EventKind::token_rotated, owner.email, message, rows);
    return rows;
}

std::vector<ledger::NewNotificationRow> account_created_notices(
    const NotifyConfig& config, const model::Person& account, const model::Person& creator,
    const std::vector<model::Person>& admins) {
    std::vector<ledger::NewNotificationRow> rows;
    Message message;
    message.subject = "[datafix] an account waits for a second admin: " + account.name;
    message.text = "Administrator " + creator.name + " (user " + std::to_string(creator.id) +
                   ") created the account of " + account.name + " (user " +
                   std::to_string(account.id) + ", " + std::string(model::role_name(account.role)) +
                   ").\nUntil another admin confirms it, its steps count as " + creator.name +
                   "'s for four eyes. If you know this person, confirm the account:\n"
                   "  datafix users confirm " +
                   std::to_string(account.id) + "\n";
    message.link = base_of(config);
    for (const model::Person& admin : admins) {
        if (admin.id != creator.id && admin.active && !admin.email.empty() &&
            admin.role == model::Role::admin) {
            to_email_channels(config, EventKind::account_created, admin.email, message, rows);
        }
    }
    return rows;
}

}  // namespace datafix::notify
