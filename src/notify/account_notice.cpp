// The account notices: names and ids only.
#include "notify/account_notice.hpp"

#include "notify/message.hpp"

namespace datafix::notify {

std::vector<ledger::NewNotificationRow> token_rotated_notices(const NotifyConfig& config,
                                                              const ledger::Person& owner,
                                                              const ledger::Person& admin) {
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
    std::string base = config.base_url;
    while (!base.empty() && base.back() == '/') {
        base.pop_back();
    }
    message.link = base;
    const std::string payload = message_to_payload(message);
    for (const ChannelConfig& channel : config.channels) {
        if (channel.kind != ChannelKind::email) {
            continue;
        }
        rows.push_back(ledger::NewNotificationRow{std::string(event_name(EventKind::token_rotated)),
                                                  std::nullopt, channel.name, owner.email,
                                                  payload});
    }
    return rows;
}

}  // namespace datafix::notify
