// Threads are created with pthread_create rather than std::thread, which cannot choose a stack
// size: an extra thread must be able to do what the caller's thread can.
#include "core/threads.hpp"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <vector>

namespace datafix {

namespace {

struct Shared {
    std::size_t count = 0;
    const std::function<void(std::size_t)>* item = nullptr;
    std::atomic<std::size_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex mutex;
    std::exception_ptr first_failure;

    void work() {
        while (!failed.load(std::memory_order_relaxed)) {
            std::size_t i = next.fetch_add(1, std::memory_order_relaxed);
            if (i >= count) {
                return;
            }
            try {
                (*item)(i);
            } catch (...) {
                std::lock_guard<std::mutex> lock(mutex);
                if (!first_failure) {
                    first_failure = std::current_exception();
                }
                failed = true;
            }
        }
    }
};

void* run_worker(void* shared) {
    static_cast<Shared*>(shared)->work();
    return nullptr;
}

}  // namespace

unsigned worker_threads(unsigned limit) {
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    int available = sched_getaffinity(0, sizeof(cpus), &cpus) == 0 ? CPU_COUNT(&cpus) : 1;
    return std::clamp(static_cast<unsigned>(std::max(available, 1)), 1U, std::max(limit, 1U));
}

void for_each_item(std::size_t count, unsigned threads, std::size_t stack_bytes,
                   const std::function<void(std::size_t)>& item) {
    Shared shared;
    shared.count = count;
    shared.item = &item;
    std::size_t extra =
        std::min<std::size_t>(threads > 0 ? threads - 1 : 0, count > 0 ? count - 1 : 0);
    std::vector<pthread_t> started;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setstacksize(&attributes, stack_bytes);
    for (std::size_t t = 0; t < extra; ++t) {
        pthread_t thread;
        // A thread that cannot be created leaves its share to the others.
        if (pthread_create(&thread, &attributes, run_worker, &shared) == 0) {
            started.push_back(thread);
        }
    }
    pthread_attr_destroy(&attributes);
    shared.work();
    for (pthread_t thread : started) {
        pthread_join(thread, nullptr);
    }
    if (shared.first_failure) {
        std::rethrow_exception(shared.first_failure);
    }
}

}  // namespace datafix
