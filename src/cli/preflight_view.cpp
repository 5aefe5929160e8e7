// Pre-flight findings under a run.
#include "cli/preflight_view.hpp"

#include <iostream>

namespace datafix::cli {

void print_preflight_findings(const nlohmann::json& report, const Style& style) {
    if (!report.is_object()) {
        return;
    }
    const auto& findings = report.value("findings", nlohmann::json::array());
    std::cout << "  pre-flight on " << text(report["environment"]) << " as role "
              << text(report["role"]) << ": ";
    if (findings.empty()) {
        std::cout << "no findings\n";
        return;
    }
    std::cout << findings.size() << (findings.size() == 1 ? " finding\n" : " findings\n");
    for (const auto& f : findings) {
        std::string severity = f.value("severity", "warning");
        std::string label = severity == "blocker" ? style.red(severity) : style.yellow(severity);
        std::cout << "    " << label << ": " << f.value("message", "") << "\n";
        if (!f.value("hint", "").empty()) {
            std::cout << "      HINT: " << f.value("hint", "") << "\n";
        }
    }
}

}  // namespace datafix::cli
