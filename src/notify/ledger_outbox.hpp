// The outbox kept in the ledger's `notifications` table, so a queued message survives a restart
// and several servers on one PostgreSQL ledger share the work without sending anything twice:
// due() claims rows with a lease (see Ledger::claim_due_notifications), and a server that dies
// while holding some only delays them until the lease ends.
#pragma once

#include <chrono>

#include "ledger/ledger.hpp"
#include "notify/channels.hpp"
#include "notify/outbox.hpp"

namespace datafix::notify {

// A lease long enough for one Dispatcher::run_once of `limit` messages to deliver all of them
// through the slowest configured channel (each attempt is bounded by its channel's timeout),
// with a margin. A lease that ends mid-batch would let another server send the rest again.
std::chrono::milliseconds delivery_lease(const NotifyConfig& config, int limit);

class LedgerOutbox final : public Outbox {
  public:
    // `ledger` must outlive the outbox.
    LedgerOutbox(ledger::Ledger& ledger, std::chrono::milliseconds lease);

    std::int64_t enqueue(const NewNotification& notification, ledger::Time now) override;
    // Claims (leases) what it returns: the caller must mark each row delivered or failed.
    std::vector<Notification> due(ledger::Time now, int limit) override;
    void mark_delivered(std::int64_t id, ledger::Time now) override;
    void mark_failed(std::int64_t id, const std::string& error, ledger::Time next_attempt) override;
    std::vector<Notification> undelivered(
        std::optional<ledger::RequestNumber> request = std::nullopt) override;

  private:
    ledger::Ledger& ledger_;
    std::chrono::milliseconds lease_;
};

}  // namespace datafix::notify
