// Sessions are created on demand and kept for reuse; at most a handful stay idle, and only
// sessions that can still serve are kept or handed out.
#include "ledger/session_pool.hpp"

namespace datafix::ledger {

namespace {
constexpr std::size_t kMaxIdle = 16;
}

SessionPool::Handle SessionPool::acquire() {
    for (;;) {
        std::unique_ptr<SqlSession> session;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (idle_.empty()) {
                break;
            }
            session = std::move(idle_.back());
            idle_.pop_back();
        }
        // A session the ledger's server dropped while it sat idle (a restart, a failover) is
        // closed here; the caller gets a new one.
        if (session->usable()) {
            return Handle(*this, std::move(session));
        }
    }
    return Handle(*this, factory_());
}

void SessionPool::give_back(std::unique_ptr<SqlSession> session) {
    if (!session || !session->usable()) {
        return;  // broken mid-use, or left inside a transaction: never handed out again
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (idle_.size() < kMaxIdle) {
        idle_.push_back(std::move(session));
    }
}

}  // namespace datafix::ledger
