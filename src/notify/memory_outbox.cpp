// The in-memory outbox: the reference behaviour the ledger-backed one must match.
#include <algorithm>

#include "notify/outbox.hpp"

namespace datafix::notify {

std::int64_t MemoryOutbox::enqueue(const NewNotification& notification, model::Time now) {
    std::lock_guard lock(mutex_);
    Notification row;
    row.id = static_cast<std::int64_t>(rows_.size()) + 1;
    row.created_at = now;
    row.content = notification;
    row.next_attempt_at = now;
    rows_.push_back(row);
    return row.id;
}

std::vector<Notification> MemoryOutbox::due(model::Time now, int limit) {
    std::lock_guard lock(mutex_);
    std::vector<Notification> out;
    for (const auto& row : rows_) {
        if (!row.delivered_at && row.next_attempt_at <= now) {
            out.push_back(row);
        }
    }
    std::stable_sort(out.begin(), out.end(), [](const Notification& a, const Notification& b) {
        return a.next_attempt_at < b.next_attempt_at;
    });
    if (out.size() > static_cast<std::size_t>(limit)) {
        out.resize(static_cast<std::size_t>(limit));
    }
    return out;
}

bool MemoryOutbox::still_claimed(std::int64_t /*id*/) {
    return true;
}

void MemoryOutbox::mark_delivered(std::int64_t id, model::Time now) {
    std::lock_guard lock(mutex_);
    if (id >= 1 && id <= static_cast<std::int64_t>(rows_.size())) {
        auto& row = rows_[static_cast<std::size_t>(id - 1)];
        row.attempts += 1;
        row.delivered_at = now;
        row.last_error.clear();
    }
}

void MemoryOutbox::mark_failed(std::int64_t id, const std::string& error,
                               model::Time next_attempt) {
    std::lock_guard lock(mutex_);
    if (id >= 1 && id <= static_cast<std::int64_t>(rows_.size())) {
        auto& row = rows_[static_cast<std::size_t>(id - 1)];
        row.attempts += 1;
        row.last_error = error;
        row.next_attempt_at = next_attempt;
    }
}

std::vector<Notification> MemoryOutbox::undelivered(std::optional<model::RequestNumber> request) {
    std::lock_guard lock(mutex_);
    std::vector<Notification> out;
    for (const auto& row : rows_) {
        if (!row.delivered_at && (!request || row.content.request == request)) {
            out.push_back(row);
        }
    }
    return out;
}

std::vector<Notification> MemoryOutbox::all() {
    std::lock_guard lock(mutex_);
    return rows_;
}

}  // namespace datafix::notify
