// Messages about accounts, not about a change: an administrator replaced a person's token (told
// to that person), or created an account that a second admin must confirm (told to the other
// admins). Sent on every email channel, whatever the routes say, and queued in the rotation's or
// the creation's own ledger transaction, so nobody misses one.
#pragma once

#include <vector>

#include "ledger/notification.hpp"
#include "model/person.hpp"
#include "model/time.hpp"
#include "notify/channels.hpp"

namespace datafix::notify {

std::vector<ledger::NewNotificationRow> token_rotated_notices(const NotifyConfig& config,
                                                              const model::Person& owner,
                                                              const model::Person& admin);

// To every admin in `admins` but the creator: `account` was created by `creator` and counts for
// them until another admin confirms it with `datafix users confirm`.
std::vector<ledger::NewNotificationRow> account_created_notices(
    const NotifyConfig& config, const model::Person& account, const model::Person& creator,
    const std::vector<model::Person>& admins);

}  // namespace datafix::notify
