// A fixed set of threads over one bounded queue.
#include "server/worker_pool.hpp"

namespace datafix::server {

WorkerPool::WorkerPool(int threads, std::size_t max_waiting)
    : max_in_flight_(static_cast<std::size_t>(threads) + max_waiting) {
    threads_.reserve(static_cast<std::size_t>(threads));
    for (int i = 0; i < threads; ++i) {
        threads_.emplace_back([this] { work(); });
    }
}

WorkerPool::~WorkerPool() {
    finish();
}

bool WorkerPool::try_submit(std::function<void()> job) {
    {
        std::lock_guard lock(mutex_);
        if (finishing_ || in_flight_ >= max_in_flight_) {
            return false;
        }
        ++in_flight_;
        waiting_.push_back(std::move(job));
    }
    ready_.notify_one();
    return true;
}

void WorkerPool::finish() {
    {
        std::lock_guard lock(mutex_);
        finishing_ = true;
    }
    ready_.notify_all();
    for (auto& t : threads_) {
        if (t.joinable()) {
            t.join();
        }
    }
}

void WorkerPool::work() {
    for (;;) {
        std::function<void()> job;
        {
            std::unique_lock lock(mutex_);
            ready_.wait(lock, [this] { return finishing_ || !waiting_.empty(); });
            if (waiting_.empty()) {
                return;  // finishing, and nothing left to run
            }
            job = std::move(waiting_.front());
            waiting_.pop_front();
        }
        job();
        std::lock_guard lock(mutex_);
        --in_flight_;
    }
}

}  // namespace datafix::server
