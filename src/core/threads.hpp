// Work shared by a few threads of this process: the calling thread and up to `threads - 1` more,
// each taking the next item until none is left. For CPU-bound work on one input (the SQL guard
// reading a large file), not for anything that waits.
#pragma once

#include <cstddef>
#include <functional>

namespace datafix {

// How many threads CPU-bound work should use here: the cores this process may run on, at most
// `limit`, at least 1.
unsigned worker_threads(unsigned limit);

// Calls `item(i)` once for every i in [0, count), on up to `threads` threads (the caller's
// included), items taken in order as threads become free. Returns when every item has returned.
// If an item throws, the items not yet started are skipped and the first exception is rethrown
// here. Each extra thread has a stack of `stack_bytes`, so that work the caller's thread could do
// does not overflow another.
void for_each_item(std::size_t count, unsigned threads, std::size_t stack_bytes,
                   const std::function<void(std::size_t)>& item);

}  // namespace datafix
