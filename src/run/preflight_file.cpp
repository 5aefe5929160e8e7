// Sealed pre-flight reports next to a run's evidence.
#include "run/preflight_file.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "targetdb/preflight_json.hpp"

namespace datafix::run {

std::string preflight_path(const std::string& data_dir, model::RequestNumber number, int run) {
    return data_dir + "/request-" + std::to_string(number) + "/run-" + std::to_string(run) +
           ".preflight";
}

nlohmann::json load_preflight(const Key& key, const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
        return nullptr;
    }
    SealedFileReader reader(key, path);
    std::string record;
    if (!reader.next(record)) {
        return nullptr;
    }
    nlohmann::json report = nlohmann::json::parse(record, nullptr, false);
    return report.is_discarded() ? nlohmann::json(nullptr) : report;
}

std::optional<targetdb::PreflightReport> KeptPreflight::report() const {
    const targetdb::PreflightReport* report = session_.last_preflight();
    if (report == nullptr) {
        return std::nullopt;
    }
    return *report;
}

KeptPreflight::~KeptPreflight() {
    try {
        const targetdb::PreflightReport* report = session_.last_preflight();
        if (report == nullptr) {
            return;
        }
        std::string path = preflight_path(host_.data_dir(), number_, run_);
        std::filesystem::create_directories(std::filesystem::path(path).parent_path());
        SealedFileWriter writer(host_.key(), path);
        writer.write(targetdb::preflight_to_json(*report).dump());
        writer.finish();
    } catch (const std::exception& e) {
        host_.log().error("request {} run {}: pre-flight report not kept: {}", number_, run_,
                          e.what());
    }
}

}  // namespace datafix::run
