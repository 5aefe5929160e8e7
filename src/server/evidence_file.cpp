// Evidence manifests to and from JSON, sealed in the data directory.
#include "server/evidence_file.hpp"

#include "core/error.hpp"

namespace datafix::server {

namespace {

const char* kind_text(target::StatementKind kind) {
    switch (kind) {
        case target::StatementKind::insert:
            return "insert";
        case target::StatementKind::update:
            return "update";
        case target::StatementKind::delete_:
            return "delete";
        case target::StatementKind::merge:
            return "merge";
    }
    return "update";
}

target::StatementKind kind_from(const std::string& text) {
    if (text == "insert") {
        return target::StatementKind::insert;
    }
    if (text == "delete") {
        return target::StatementKind::delete_;
    }
    if (text == "merge") {
        return target::StatementKind::merge;
    }
    return target::StatementKind::update;
}

nlohmann::json image_json(const target::ImageFile& f) {
    return {
        {"path", f.path}, {"rows", f.rows}, {"digest", f.digest}, {"keys_digest", f.keys_digest}};
}

target::ImageFile image_from(const nlohmann::json& j) {
    return {j.at("path").get<std::string>(), j.at("rows").get<long long>(),
            j.at("digest").get<std::string>(), j.value("keys_digest", std::string())};
}

}  // namespace

nlohmann::json evidence_json(const target::Evidence& e, bool with_verify) {
    nlohmann::json statements = nlohmann::json::array();
    for (const auto& s : e.statements) {
        statements.push_back({
            {"index", s.index},
            {"kind", kind_text(s.kind)},
            {"schema", s.schema},
            {"table", s.table},
            {"columns", s.columns},
            {"key_columns", s.key_columns},
            {"expected_rows", s.expected_rows ? nlohmann::json(*s.expected_rows) : nullptr},
            {"actual_rows", s.actual_rows},
            {"before", image_json(s.before)},
            {"after", image_json(s.after)},
            {"volatile_columns", s.volatile_columns},
            {"indirect_writes", s.indirect_writes},
        });
    }
    nlohmann::json j = {
        {"kind", e.kind == target::RunKind::revert ? "revert" : "change"},
        {"plan_sha256", e.plan_sha256},
        {"environment", e.environment},
        {"system_identifier", e.system_identifier},
        {"statements", statements},
        {"conflicts_count", e.conflicts.size()},
        {"fingerprint", e.fingerprint},
    };
    if (with_verify) {
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
        j["verify"] = verify;
        j["conflicts"] = e.conflicts;
    }
    return j;
}

target::Evidence evidence_from_json(const nlohmann::json& j) {
    target::Evidence e;
    e.kind = j.at("kind") == "revert" ? target::RunKind::revert : target::RunKind::change;
    e.plan_sha256 = j.at("plan_sha256");
    e.environment = j.at("environment");
    e.system_identifier = j.at("system_identifier");
    e.fingerprint = j.at("fingerprint");
    for (const auto& s : j.at("statements")) {
        target::StatementEvidence se;
        se.index = s.at("index");
        se.kind = kind_from(s.at("kind"));
        se.schema = s.at("schema");
        se.table = s.at("table");
        se.columns = s.at("columns").get<std::vector<std::string>>();
        se.key_columns = s.at("key_columns").get<std::vector<std::string>>();
        if (!s.at("expected_rows").is_null()) {
            se.expected_rows = s.at("expected_rows").get<long long>();
        }
        se.actual_rows = s.at("actual_rows");
        se.before = image_from(s.at("before"));
        se.after = image_from(s.at("after"));
        se.volatile_columns = s.at("volatile_columns").get<std::vector<std::string>>();
        se.indirect_writes = s.at("indirect_writes").get<std::vector<std::string>>();
        e.statements.push_back(std::move(se));
    }
    if (j.contains("conflicts")) {
        e.conflicts = j.at("conflicts").get<std::vector<std::string>>();
    }
    return e;
}

void save_evidence(const Key& key, const std::string& path, const target::Evidence& evidence) {
    SealedFileWriter writer(key, path);
    writer.write(evidence_json(evidence, false).dump());
    writer.finish();
}

target::Evidence load_evidence(const Key& key, const std::string& path) {
    SealedFileReader reader(key, path);
    std::string record;
    if (!reader.next(record)) {
        throw Error(ErrorCode::internal, "evidence file " + path + " is empty",
                    "the run's evidence is lost; preview again");
    }
    try {
        return evidence_from_json(nlohmann::json::parse(record));
    } catch (const nlohmann::json::exception& e) {
        throw Error(ErrorCode::internal, "evidence file " + path + " is unreadable",
                    "the run's evidence is lost; preview again");
    }
}

std::string verify_results_text(const target::Evidence& evidence) {
    nlohmann::json j = evidence_json(evidence, true);
    return nlohmann::json{{"verify", j["verify"]}, {"conflicts", j["conflicts"]}}.dump();
}

nlohmann::json evidence_summary(const target::Evidence& evidence) {
    nlohmann::json statements = nlohmann::json::array();
    for (const auto& s : evidence.statements) {
        statements.push_back({
            {"index", s.index},
            {"kind", kind_text(s.kind)},
            {"table", s.schema.empty() ? s.table : s.schema + "." + s.table},
            {"expected_rows", s.expected_rows ? nlohmann::json(*s.expected_rows) : nullptr},
            {"actual_rows", s.actual_rows},
            {"before_rows", s.before.rows},
            {"after_rows", s.after.rows},
            {"before_digest", s.before.digest},
            {"after_digest", s.after.digest},
            {"before_keys_digest", s.before.keys_digest},
            {"after_keys_digest", s.after.keys_digest},
            {"volatile_columns", s.volatile_columns},
            {"indirect_writes", s.indirect_writes},
        });
    }
    return {{"fingerprint", evidence.fingerprint},
            {"environment", evidence.environment},
            {"system_identifier", evidence.system_identifier},
            {"plan_sha256", evidence.plan_sha256},
            {"statements", statements},
            {"verify_queries", evidence.verify.size()},
            {"conflicts", evidence.conflicts.size()}};
}

}  // namespace datafix::server
