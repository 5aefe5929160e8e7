// The test clock (see test_clock.hpp). Only this file and fault.cpp see DATAFIX_FAULT_POINTS.
#include "core/test_clock.hpp"

#include <cstdlib>
#include <fstream>
#include <string>

namespace datafix {

std::chrono::milliseconds test_clock_offset() {
#ifdef DATAFIX_FAULT_POINTS
    static const std::string file = [] {
        const char* value = std::getenv("DATAFIX_TEST_CLOCK");
        return std::string(value != nullptr ? value : "");
    }();
    if (file.empty()) {
        return std::chrono::milliseconds{0};
    }
    std::ifstream in(file);
    long long seconds = 0;
    if (!(in >> seconds)) {
        return std::chrono::milliseconds{0};
    }
    return std::chrono::seconds{seconds};
#else
    return std::chrono::milliseconds{0};
#endif
}

}  // namespace datafix
