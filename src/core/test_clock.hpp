// The test clock: lets a test move a running server's wall clock forward, so that whatever
// expires (sign-in sessions, tokens, claim leases) can be tested without waiting. A build with
// DATAFIX_FAULT_POINTS (the default when the tests are built) reads, when the environment
// variable DATAFIX_TEST_CLOCK names a file, an offset in whole seconds ("46800", "-60") from that
// file at every reading of the clock; a missing or empty file means no offset. The test writes
// the file while the server runs. In a build without it the offset is always zero, so a release
// cannot be moved this way. model::wall_clock_now() adds it; the ID token check does not (the
// provider's clock does not move).
#pragma once

#include <chrono>

namespace datafix {

std::chrono::milliseconds test_clock_offset();

}  // namespace datafix
