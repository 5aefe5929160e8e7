// Named fault points for the crash tests. A build with DATAFIX_FAULT_POINTS (the default when the
// tests are built) acts when the environment variable DATAFIX_FAULT names the point it reaches:
//   "<point>"       kills its own process with SIGKILL, as an operator's kill -9 would;
//   "<point>:stop"  stops its own process with SIGSTOP (a hung or partitioned server: its run
//                   leases lapse while it still holds its target transaction; SIGCONT resumes it);
//   "<point>:fail"  throws, as a failing ledger or disk would at that moment.
// In a build without it, fault points do nothing, so a release cannot be made to stop this way.
// Points are named "<step>.<moment>", e.g. "apply.after_commit"; tests/e2e/crash_test.cpp uses
// them, and ARCHITECTURE.md lists them.
#pragma once

#include <string_view>

namespace datafix {

void fault_point(std::string_view name);

}  // namespace datafix
