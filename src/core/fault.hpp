// Named fault points for the crash tests: a build with DATAFIX_FAULT_POINTS (the default when the
// tests are built) kills its own process with SIGKILL, as an operator's kill -9 would, when the
// environment variable DATAFIX_FAULT names the point it reaches. In a build without it, fault
// points do nothing, so a release cannot be made to stop this way. Points are named
// "<step>.<moment>", e.g. "apply.after_commit"; tests/e2e/crash_test.cpp uses them.
#pragma once

#include <string_view>

namespace datafix {

void fault_point(std::string_view name);

}  // namespace datafix
