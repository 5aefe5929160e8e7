// libpg_query's JSON parse trees (json_tree.hpp).
#include "sql/internal/json_tree.hpp"

#include <pg_query.h>

#include "core/error.hpp"

namespace datafix::sql::internal {

std::optional<nlohmann::json> json_tree(const std::string& text) {
    PgQueryParseResult r = pg_query_parse(text.c_str());
    std::optional<nlohmann::json> tree;
    if (r.error == nullptr && r.parse_tree != nullptr) {
        auto parsed = nlohmann::json::parse(r.parse_tree, nullptr, false);
        if (!parsed.is_discarded()) {
            tree = std::move(parsed);
        }
    }
    pg_query_free_parse_result(r);
    return tree;
}

nlohmann::json json_tree_of_printed(const std::string& text, const std::string& what) {
    PgQueryParseResult r = pg_query_parse(text.c_str());
    if (r.error != nullptr || r.parse_tree == nullptr) {
        std::string message =
            r.error != nullptr && r.error->message != nullptr ? r.error->message : "parse error";
        pg_query_free_parse_result(r);
        throw Error(ErrorCode::invalid_input, what + " does not parse: " + message);
    }
    auto tree = nlohmann::json::parse(r.parse_tree, nullptr, false);
    pg_query_free_parse_result(r);
    return tree.is_discarded() ? nlohmann::json::object() : tree;
}

std::optional<nlohmann::json> json_expression(const std::string& expression) {
    auto tree = json_tree("SELECT " + expression);
    if (!tree) {
        return std::nullopt;
    }
    try {
        const auto& select = tree->at("stmts").at(0).at("stmt").at("SelectStmt");
        const auto& targets = select.at("targetList");
        if (tree->at("stmts").size() != 1 || targets.size() != 1) {
            return std::nullopt;
        }
        return targets.at(0).at("ResTarget").at("val");
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;
    }
}

std::string string_value(const nlohmann::json& node) {
    if (node.is_object() && node.contains("String")) {
        return node["String"].value("sval", "");
    }
    return {};
}

std::string string_literal(const nlohmann::json& node) {
    if (!node.is_object()) {
        return {};
    }
    if (node.contains("TypeCast")) {
        return string_literal(node["TypeCast"].value("arg", nlohmann::json::object()));
    }
    if (node.contains("A_Const")) {
        return node["A_Const"].value("sval", nlohmann::json::object()).value("sval", "");
    }
    return {};
}

std::optional<FunctionCall> function_call(const nlohmann::json& call) {
    const auto& names = call.value("funcname", nlohmann::json::array());
    if (names.empty()) {
        return std::nullopt;
    }
    FunctionCall seen;
    seen.name = string_value(names.back());
    seen.schema = names.size() > 1 ? string_value(names[names.size() - 2]) : "";
    seen.arguments = call.value("agg_star", false)
                         ? 0
                         : static_cast<int>(call.value("args", nlohmann::json::array()).size());
    return seen;
}

}  // namespace datafix::sql::internal
