// The version of this build, the project version in CMakeLists.txt. Defined in a source file that
// CMake generates (cmake/version.cpp.in), so a new version recompiles one file, not every file.
#pragma once

namespace datafix {

const char* version() noexcept;  // "0.1.0"

}  // namespace datafix
