// The threads that run route handlers. Handlers may block for as long as the database needs
// (preview, apply, backup), so they never run on the HTTP server's event thread; and the pool is
// bounded twice, in threads and in waiting work, so a flood of requests is refused at once
// (503) instead of piling up without end.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace datafix::server {

class WorkerPool {
  public:
    WorkerPool(int threads, std::size_t max_waiting);
    ~WorkerPool();  // finish()
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    // Queues `job`; false (and `job` is not run) when `threads` + `max_waiting` jobs are already
    // queued or running, or the pool is finishing. (Counting running jobs too, a burst that
    // arrives before idle threads wake is not refused.)
    bool try_submit(std::function<void()> job);
    // Runs what is queued and running to its end, then joins the threads. Idempotent.
    void finish();

  private:
    void work();

    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<std::function<void()>> waiting_;
    std::size_t max_in_flight_;
    std::size_t in_flight_ = 0;  // queued or running
    bool finishing_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace datafix::server
