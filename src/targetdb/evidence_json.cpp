// JSON form of the evidence. Field names are part of the ledger's stored format: only append.
#include "targetdb/evidence_json.hpp"

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace datafix::targetdb {

std::string_view statement_kind_name(StatementKind kind) {
    switch (kind) {
        case StatementKind::insert:
            return "insert";
        case StatementKind::update:
            return "update";
        case StatementKind::delete_:
            return "delete";
        case StatementKind::merge:
            return "merge";
    }
    return "update";
}

namespace {

StatementKind kind_from(const std::string& name) {
    if (name == "insert") {
        return StatementKind::insert;
    }
    if (name == "update") {
        return StatementKind::update;
    }
    if (name == "delete") {
        return StatementKind::delete_;
    }
    if (name == "merge") {
        return StatementKind::merge;
    }
    throw Error(ErrorCode::invalid_input, "unknown statement kind in evidence: " + name);
}

nlohmann::json image_json(const ImageFile& f) {
    return {
        {"path", f.path}, {"rows", f.rows}, {"digest", f.digest}, {"keys_digest", f.keys_digest}};
}

ImageFile image_from(const nlohmann::json& j) {
    return ImageFile{j.at("path").get<std::string>(), j.at("rows").get<long long>(),
                     j.at("digest").get<std::string>(), j.at("keys_digest").get<std::string>()};
}

nlohmann::json volatility_json(const std::vector<VolatileColumn>& volatility) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : volatility) {
        out.push_back({{"column", v.column},
                       {"class", volatility_class_name(v.volatility)},
                       {"type", v.type},
                       {"sequence", v.sequence},
                       {"cause", v.cause}});
    }
    return out;
}

std::vector<VolatileColumn> volatility_from(const nlohmann::json& j) {
    std::vector<VolatileColumn> out;
    for (const auto& v : j) {
        VolatileColumn c;
        c.column = v.at("column").get<std::string>();
        c.volatility = volatility_class_from(v.at("class").get<std::string>());
        c.type = v.value("type", "");
        c.sequence = v.value("sequence", "");
        c.cause = v.value("cause", "");
        out.push_back(std::move(c));
    }
    return out;
}

nlohmann::json changes_json(const TableChanges& c) {
    auto out = nlohmann::json{{"schema", c.schema},           {"table", c.table},
                              {"columns", c.columns},         {"key_columns", c.key_columns},
                              {"causes", c.causes},           {"append_only", c.append_only},
                              {"inserted", c.inserted},       {"updated", c.updated},
                              {"deleted", c.deleted},         {"before", image_json(c.before)},
                              {"after", image_json(c.after)}, {"count_only", c.count_only}};
    if (!c.after_masked.empty()) {
        out["after_masked"] = c.after_masked;
        out["volatility"] = volatility_json(c.volatility);
    }
    return out;
}

TableChanges changes_from(const nlohmann::json& j) {
    TableChanges c;
    c.schema = j.at("schema").get<std::string>();
    c.table = j.at("table").get<std::string>();
    c.columns = j.at("columns").get<std::vector<std::string>>();
    c.key_columns = j.at("key_columns").get<std::vector<std::string>>();
    c.causes = j.at("causes").get<std::vector<std::string>>();
    c.append_only = j.at("append_only").get<bool>();
    c.inserted = j.at("inserted").get<long long>();
    c.updated = j.at("updated").get<long long>();
    c.deleted = j.at("deleted").get<long long>();
    c.before = image_from(j.at("before"));
    c.after = image_from(j.at("after"));
    c.count_only = j.value("count_only", false);
    c.after_masked = j.value("after_masked", "");
    if (j.contains("volatility")) {
        c.volatility = volatility_from(j.at("volatility"));
    }
    return c;
}

}  // namespace

std::string_view outcome_status_name(OutcomeStatus status) {
    switch (status) {
        case OutcomeStatus::committed:
            return "committed";
        case OutcomeStatus::not_committed:
            return "not_committed";
        case OutcomeStatus::in_doubt:
            return "in_doubt";
    }
    return "in_doubt";
}

nlohmann::json to_json(const Evidence& e) {
    nlohmann::json statements = nlohmann::json::array();
    for (const auto& s : e.statements) {
        nlohmann::json j = {{"index", s.index},
                            {"kind", statement_kind_name(s.kind)},
                            {"schema", s.schema},
                            {"table", s.table},
                            {"columns", s.columns},
                            {"key_columns", s.key_columns},
                            {"actual_rows", s.actual_rows},
                            {"before", image_json(s.before)},
                            {"after", image_json(s.after)},
                            {"volatile_columns", s.volatile_columns},
                            {"indirect_writes", s.indirect_writes}};
        j["expected_rows"] = s.expected_rows ? nlohmann::json(*s.expected_rows) : nlohmann::json();
        if (!s.after_masked.empty()) {
            j["after_masked"] = s.after_masked;
            j["volatility"] = volatility_json(s.volatility);
        }
        statements.push_back(std::move(j));
    }
    nlohmann::json verify = nlohmann::json::array();
    for (const auto& v : e.verify) {
        nlohmann::json rows = nlohmann::json::array();
        for (const auto& row : v.rows) {
            nlohmann::json r = nlohmann::json::array();
            for (const auto& value : row) {
                r.push_back(value ? nlohmann::json(*value) : nlohmann::json());
            }
            rows.push_back(std::move(r));
        }
        verify.push_back({{"index", v.index},
                          {"columns", v.columns},
                          {"rows", std::move(rows)},
                          {"truncated", v.truncated}});
    }
    nlohmann::json out = {{"kind", e.kind == RunKind::change ? "change" : "revert"},
                          {"plan_sha256", e.plan_sha256},
                          {"environment", e.environment},
                          {"system_identifier", e.system_identifier},
                          {"statements", std::move(statements)},
                          {"verify", std::move(verify)},
                          {"conflicts", e.conflicts},
                          {"fingerprint", e.fingerprint}};
    if (e.closure_captured) {
        nlohmann::json closure = nlohmann::json::array();
        for (const auto& c : e.closure) {
            closure.push_back(changes_json(c));
        }
        out["closure"] = std::move(closure);
        out["revert_hazards"] = e.revert_hazards;
    }
    if (e.superuser_login) {
        out["superuser_login"] = true;
    }
    if (e.after_approved) {
        out["after_approved"] = true;
        out["volatility_unknown"] = e.volatility_unknown;
    }
    return out;
}

Evidence evidence_from_json(const nlohmann::json& j) {
    try {
        Evidence e;
        e.kind = j.at("kind").get<std::string>() == "revert" ? RunKind::revert : RunKind::change;
        e.plan_sha256 = j.at("plan_sha256").get<std::string>();
        e.environment = j.at("environment").get<std::string>();
        e.system_identifier = j.at("system_identifier").get<std::string>();
        for (const auto& js : j.at("statements")) {
            StatementEvidence s;
            s.index = js.at("index").get<int>();
            s.kind = kind_from(js.at("kind").get<std::string>());
            s.schema = js.at("schema").get<std::string>();
            s.table = js.at("table").get<std::string>();
            s.columns = js.at("columns").get<std::vector<std::string>>();
            s.key_columns = js.at("key_columns").get<std::vector<std::string>>();
            if (!js.at("expected_rows").is_null()) {
                s.expected_rows = js.at("expected_rows").get<long long>();
            }
            s.actual_rows = js.at("actual_rows").get<long long>();
            s.before = image_from(js.at("before"));
            s.after = image_from(js.at("after"));
            s.volatile_columns = js.at("volatile_columns").get<std::vector<std::string>>();
            s.indirect_writes = js.at("indirect_writes").get<std::vector<std::string>>();
            s.after_masked = js.value("after_masked", "");
            if (js.contains("volatility")) {
                s.volatility = volatility_from(js.at("volatility"));
            }
            e.statements.push_back(std::move(s));
        }
        for (const auto& jv : j.at("verify")) {
            VerifyResult v;
            v.index = jv.at("index").get<int>();
            v.columns = jv.at("columns").get<std::vector<std::string>>();
            v.truncated = jv.at("truncated").get<bool>();
            for (const auto& jr : jv.at("rows")) {
                std::vector<std::optional<std::string>> row;
                for (const auto& value : jr) {
                    row.push_back(value.is_null() ? std::nullopt
                                                  : std::optional(value.get<std::string>()));
                }
                v.rows.push_back(std::move(row));
            }
            e.verify.push_back(std::move(v));
        }
        e.conflicts = j.at("conflicts").get<std::vector<std::string>>();
        e.fingerprint = j.at("fingerprint").get<std::string>();
        e.superuser_login = j.value("superuser_login", false);
        e.after_approved = j.value("after_approved", false);
        if (e.after_approved) {
            e.volatility_unknown = j.at("volatility_unknown").get<std::vector<std::string>>();
        }
        if (j.contains("closure")) {
            e.closure_captured = true;
            for (const auto& jc : j.at("closure")) {
                e.closure.push_back(changes_from(jc));
            }
            e.revert_hazards = j.at("revert_hazards").get<std::vector<std::string>>();
        }
        return e;
    } catch (const nlohmann::json::exception& ex) {
        throw Error(ErrorCode::invalid_input, std::string("malformed evidence: ") + ex.what(),
                    "the ledger's stored evidence is damaged; preview again");
    }
}

std::string_view volatility_class_name(VolatilityClass c) {
    switch (c) {
        case VolatilityClass::clock:
            return "clock";
        case VolatilityClass::sequence:
            return "sequence";
        case VolatilityClass::random:
            return "random";
        case VolatilityClass::observed:
            return "observed";
    }
    return "observed";
}

VolatilityClass volatility_class_from(std::string_view name) {
    if (name == "clock") {
        return VolatilityClass::clock;
    }
    if (name == "sequence") {
        return VolatilityClass::sequence;
    }
    if (name == "random") {
        return VolatilityClass::random;
    }
    return VolatilityClass::observed;
}

}  // namespace datafix::targetdb
