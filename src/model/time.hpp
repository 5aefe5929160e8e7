// Time as the ledger and the workflow see it: milliseconds since the Unix epoch, UTC. The
// workflow never reads a clock; callers pass `now` in, so rules about leases and ages are
// testable with fixed instants.
#pragma once

#include <chrono>
#include <cstdint>

#include "core/test_clock.hpp"

namespace datafix::model {

using Time = std::chrono::sys_time<std::chrono::milliseconds>;

inline std::int64_t to_millis(Time t) {
    return t.time_since_epoch().count();
}
inline Time from_millis(std::int64_t ms) {
    return Time{std::chrono::milliseconds{ms}};
}

// The wall clock, for the callers at the edge (server, cli); never used by the workflow. A
// test build's tests may move it forward (core/test_clock.hpp); a release's never moves.
inline Time wall_clock_now() {
    return std::chrono::time_point_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now()) +
           test_clock_offset();
}

}  // namespace datafix::model
