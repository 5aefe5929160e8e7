// The outbox kept in the ledger's `notifications` table, so a queued message survives a restart
// and several servers on one PostgreSQL ledger share the work without sending anything twice:
// due() claims rows with a lease (see Ledger::claim_due_notifications) in the name of its owner,
// the server's instance and incarnation. A server that dies while holding some only delays them
// until reclaim() runs on a server that sees the owner is gone (at its start, after each
// heartbeat); the lease is the last resort for an owner that lives but is stuck.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "ledger/ledger.hpp"
#include "notify/channels.hpp"
#include "notify/outbox.hpp"

namespace datafix::notify {

// A lease long enough for one Dispatcher::run_once of `limit` messages to deliver all of them
// through the slowest configured channel (each attempt is bounded by its channel's timeout),
// with a margin. A lease that ends mid-batch would let another server send the rest again.
std::chrono::milliseconds delivery_lease(const NotifyConfig& config, int limit);

// The server that claims rows: its instance (stable across restarts), its incarnation (this
// process) and how long a claim holds without its heartbeat (the run lease, renewed every third).
struct OutboxOwner {
    std::string instance;
    std::string incarnation;
    std::chrono::milliseconds heartbeat_lease{};
};

class LedgerOutbox final : public Outbox {
  public:
    // `ledger` must outlive the outbox. Without an owner, claims are anonymous and a dead
    // claimer's rows wait for the lease.
    LedgerOutbox(ledger::Ledger& ledger, std::chrono::milliseconds lease,
                 std::optional<OutboxOwner> owner = std::nullopt);

    std::int64_t enqueue(const NewNotification& notification, model::Time now) override;
    // Claims (leases) what it returns: the caller must mark each row delivered or failed.
    std::vector<Notification> due(model::Time now, int limit) override;
    // With an owner: the row is still claimed by this incarnation and undelivered.
    bool still_claimed(std::int64_t id) override;
    void mark_delivered(std::int64_t id, model::Time now) override;
    void mark_failed(std::int64_t id, const std::string& error, model::Time next_attempt) override;
    std::vector<Notification> undelivered(
        std::optional<model::RequestNumber> request = std::nullopt) override;
    // Makes due again the rows claimed by an owner that is gone: an earlier life of this
    // instance, or any server whose claims expired unrenewed. How many; 0 without an owner.
    int reclaim(model::Time now);

  private:
    ledger::Ledger& ledger_;
    std::chrono::milliseconds lease_;
    std::optional<OutboxOwner> owner_;
};

}  // namespace datafix::notify
