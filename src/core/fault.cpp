// Fault points (see fault.hpp). Only this file sees DATAFIX_FAULT_POINTS.
#include "core/fault.hpp"

#include <csignal>
#include <cstdlib>
#include <string>

namespace datafix {

void fault_point([[maybe_unused]] std::string_view name) {
#ifdef DATAFIX_FAULT_POINTS
    static const std::string wanted = [] {
        const char* value = std::getenv("DATAFIX_FAULT");
        return std::string(value != nullptr ? value : "");
    }();
    if (!wanted.empty() && wanted == name) {
        std::raise(SIGKILL);
    }
#endif
}

}  // namespace datafix
