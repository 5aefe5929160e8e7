// Sessions are created on demand and kept for reuse; at most a handful stay idle.
#include "ledger/session_pool.hpp"

namespace datafix::ledger {

namespace {
constexpr std::size_t kMaxIdle = 16;
}

SessionPool::Handle SessionPool::acquire() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!idle_.empty()) {
            std::unique_ptr<SqlSession> session = std::move(idle_.back());
            idle_.pop_back();
            return Handle(*this, std::move(session));
        }
    }
    return Handle(*this, factory_());
}

void SessionPool::give_back(std::unique_ptr<SqlSession> session) {
    if (!session) {
        return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (idle_.size() < kMaxIdle) {
        idle_.push_back(std::move(session));
    }
}

}  // namespace datafix::ledger
