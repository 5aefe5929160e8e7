// Fault points (see fault.hpp). Only this file sees DATAFIX_FAULT_POINTS.
#include "core/fault.hpp"

#include <csignal>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace datafix {

void fault_point([[maybe_unused]] std::string_view name) {
#ifdef DATAFIX_FAULT_POINTS
    struct Wanted {
        std::string point;
        std::string mode;
    };
    static const Wanted wanted = [] {
        const char* value = std::getenv("DATAFIX_FAULT");
        std::string text(value != nullptr ? value : "");
        auto colon = text.find(':');
        if (colon == std::string::npos) {
            return Wanted{text, "kill"};
        }
        return Wanted{text.substr(0, colon), text.substr(colon + 1)};
    }();
    if (wanted.point.empty() || wanted.point != name) {
        return;
    }
    if (wanted.mode == "stop") {
        std::raise(SIGSTOP);
        return;
    }
    if (wanted.mode == "fail") {
        throw std::runtime_error("fault injected at " + wanted.point);
    }
    std::raise(SIGKILL);
#endif
}

}  // namespace datafix
