// Where notifications wait until delivered, so delivery never blocks or loses a change: the
// server enqueues (in the ledger, next to the change) and a dispatcher delivers later, retrying
// with backoff. One row per channel and recipient, the shape of the ledger's `notifications`
// table. The server uses LedgerOutbox (ledger_outbox.hpp); MemoryOutbox is for tests.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "model/request_state.hpp"
#include "model/time.hpp"
#include "notify/event.hpp"

namespace datafix::notify {

struct NewNotification {
    EventKind event = EventKind::request_created;
    std::optional<model::RequestNumber> request;
    std::string channel;    // a configured channel name
    std::string recipient;  // an email address; empty for a chat channel
    std::string payload;    // message_to_payload(): normalized text only
};

struct Notification {
    std::int64_t id = 0;
    model::Time created_at{};
    NewNotification content;
    int attempts = 0;
    model::Time next_attempt_at{};
    std::optional<model::Time> delivered_at;
    std::string last_error;
    // The audit chain's head when the row was queued ("SEQ:MAC"); the message's footer.
    std::string audit_head;
};

class Outbox {
  public:
    virtual ~Outbox() = default;
    // Due at once (next_attempt_at = now). Returns the id.
    virtual std::int64_t enqueue(const NewNotification& notification, model::Time now) = 0;
    // Undelivered, next_attempt_at <= now, oldest first.
    virtual std::vector<Notification> due(model::Time now, int limit) = 0;
    // Whether a row due() returned is still this dispatcher's to send: false once a server that
    // took this one for gone (it hung longer than its heartbeat lease) reclaimed it.
    virtual bool still_claimed(std::int64_t id) = 0;
    virtual void mark_delivered(std::int64_t id, model::Time now) = 0;
    // attempts + 1, last_error, next_attempt_at.
    virtual void mark_failed(std::int64_t id, const std::string& error,
                             model::Time next_attempt) = 0;
    // Everything not delivered yet (for `datafix show`), oldest first; optionally of one request.
    virtual std::vector<Notification> undelivered(
        std::optional<model::RequestNumber> request = std::nullopt) = 0;

  protected:
    Outbox() = default;
};

class MemoryOutbox final : public Outbox {
  public:
    std::int64_t enqueue(const NewNotification& notification, model::Time now) override;
    std::vector<Notification> due(model::Time now, int limit) override;
    bool still_claimed(std::int64_t id) override;  // always: nobody else shares this outbox
    void mark_delivered(std::int64_t id, model::Time now) override;
    void mark_failed(std::int64_t id, const std::string& error, model::Time next_attempt) override;
    std::vector<Notification> undelivered(
        std::optional<model::RequestNumber> request = std::nullopt) override;

    std::vector<Notification> all();

  private:
    std::mutex mutex_;
    std::vector<Notification> rows_;
};

}  // namespace datafix::notify
