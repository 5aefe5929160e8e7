// Sealed pre-flight reports next to a run's evidence.
#include "server/preflight_file.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "targetdb/preflight_json.hpp"

namespace datafix::server {

std::string preflight_path(const Config& config, model::RequestNumber number, int run) {
    return config.server.data_dir + "/request-" + std::to_string(number) + "/run-" +
           std::to_string(run) + ".preflight";
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

nlohmann::json KeptPreflight::json() const {
    const targetdb::PreflightReport* report = session_.last_preflight();
    return report == nullptr ? nlohmann::json(nullptr) : targetdb::preflight_to_json(*report);
}

KeptPreflight::~KeptPreflight() {
    try {
        nlohmann::json report = json();
        if (report.is_null()) {
            return;
        }
        std::string path = preflight_path(context_.config(), number_, run_);
        std::filesystem::create_directories(std::filesystem::path(path).parent_path());
        SealedFileWriter writer(context_.key(), path);
        writer.write(report.dump());
        writer.finish();
    } catch (const std::exception& e) {
        context_.log().error("request {} run {}: pre-flight report not kept: {}", number_, run_,
                             e.what());
    }
}

}  // namespace datafix::server
