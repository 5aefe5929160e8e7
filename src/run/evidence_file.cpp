// Evidence manifests to and from JSON, sealed in the data directory.
#include "run/evidence_file.hpp"

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "targetdb/evidence_json.hpp"

namespace datafix::run {

void save_evidence(const Key& key, const std::string& path, const targetdb::Evidence& evidence) {
    SealedFileWriter writer(key, path);
    writer.write(targetdb::to_json(evidence).dump());
    writer.finish();
}

targetdb::Evidence load_evidence(const Key& key, const std::string& path) {
    SealedFileReader reader(key, path);
    std::string record;
    if (!reader.next(record)) {
        throw Error(ErrorCode::internal, "evidence file " + path + " is empty",
                    "the run's evidence is lost; preview again");
    }
    nlohmann::json document = nlohmann::json::parse(record, nullptr, false);
    if (document.is_discarded()) {
        throw Error(ErrorCode::internal, "evidence file " + path + " is unreadable",
                    "the run's evidence is lost; preview again");
    }
    return targetdb::evidence_from_json(document);
}

nlohmann::json verify_json(const targetdb::Evidence& e) {
    nlohmann::json verify = nlohmann::json::array();
    for (const auto& v : e.verify) {
        nlohmann::json rows = nlohmann::json::array();
        for (const auto& row : v.rows) {
            nlohmann::json cells = nlohmann::json::array();
            for (const auto& cell : row) {
                cells.push_back(cell ? nlohmann::json(*cell) : nullptr);
            }
            rows.push_back(cells);
        }
        verify.push_back({{"index", v.index},
                          {"columns", v.columns},
                          {"rows", rows},
                          {"truncated", v.truncated}});
    }
    return {{"verify", verify}, {"conflicts", e.conflicts}};
}

std::string verify_results_text(const targetdb::Evidence& evidence) {
    return verify_json(evidence).dump();
}

}  // namespace datafix::run
