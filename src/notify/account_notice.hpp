// Messages to a person about their own account, not about a change: an administrator replaced
// their token. Sent on every email channel to the person's address, whatever the routes say, and
// queued in the rotation's own ledger transaction (Ledger::rotate_token), so the owner hears of
// every rotation they did not make.
#pragma once

#include <vector>

#include "ledger/notification.hpp"
#include "ledger/person.hpp"
#include "ledger/time.hpp"
#include "notify/channels.hpp"

namespace datafix::notify {

std::vector<ledger::NewNotificationRow> token_rotated_notices(const NotifyConfig& config,
                                                              const ledger::Person& owner,
                                                              const ledger::Person& admin);

}  // namespace datafix::notify
