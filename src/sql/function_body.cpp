// Trigger function bodies through libpg_query's PL/pgSQL and SQL parsers (see function_body.hpp).
#include "sql/function_body.hpp"

#include <pg_query.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "sql/analysis.hpp"

namespace datafix::sql {

namespace {

// PostgreSQL's elog levels (utils/elog.h): ERROR and above stop the statement.
constexpr int kElogError = 21;

void add_write(FunctionBodyFacts& facts, const std::string& table) {
    if (std::find(facts.writes.begin(), facts.writes.end(), table) == facts.writes.end()) {
        facts.writes.push_back(table);
    }
}

// The DML statements in `text` (one embedded statement, or a sql function's body).
void add_writes_of(FunctionBodyFacts& facts, const std::string& text) {
    try {
        Analysis a = analyze(text, FileRole::change, "function body");
        for (const auto& s : a.statements) {
            for (const auto& t : s.tables_written) {
                add_write(facts, t);
            }
        }
    } catch (const Error&) {
        // A statement PostgreSQL accepted but our guard cannot read (e.g. empty): nothing to name.
    }
}

bool is_null_expression(const std::string& expression) {
    const std::string select = "SELECT " + expression;
    PgQueryParseResult r = pg_query_parse(select.c_str());
    bool is_null = false;
    if (r.error == nullptr && r.parse_tree != nullptr) {
        auto tree = nlohmann::json::parse(r.parse_tree, nullptr, false);
        const auto* target = tree.is_discarded() ? nullptr : &tree;
        try {
            const auto& list =
                target->at("stmts").at(0).at("stmt").at("SelectStmt").at("targetList");
            is_null = list.size() == 1 &&
                      list.at(0).at("ResTarget").at("val").at("A_Const").value("isnull", false);
        } catch (const nlohmann::json::exception&) {
            is_null = false;
        }
    }
    pg_query_free_parse_result(r);
    return is_null;
}

std::string expression_text(const nlohmann::json& node) {
    if (!node.is_object() || !node.contains("PLpgSQL_expr")) {
        return {};
    }
    return node["PLpgSQL_expr"].value("query", "");
}

void visit(const nlohmann::json& node, FunctionBodyFacts& facts) {
    if (node.is_array()) {
        for (const auto& item : node) {
            visit(item, facts);
        }
        return;
    }
    if (!node.is_object()) {
        return;
    }
    for (const auto& [key, value] : node.items()) {
        if (key == "PLpgSQL_stmt_execsql") {
            add_writes_of(facts, expression_text(value.value("sqlstmt", nlohmann::json())));
        } else if (key == "PLpgSQL_stmt_raise") {
            // A bare RAISE re-raises the current error; no level means ERROR.
            if (value.value("elog_level", kElogError) >= kElogError) {
                facts.may_raise = true;
            }
        } else if (key == "PLpgSQL_stmt_assert") {
            facts.may_raise = true;
        } else if (key == "PLpgSQL_stmt_return") {
            const std::string e = expression_text(value.value("expr", nlohmann::json()));
            if (!e.empty() && is_null_expression(e)) {
                facts.returns_null = true;
            }
        } else if (key == "PLpgSQL_stmt_dynexecute" || key == "PLpgSQL_stmt_dynfors") {
            facts.dynamic_sql = true;
        } else if (key == "PLpgSQL_stmt_return_query" && value.contains("dynquery")) {
            facts.dynamic_sql = true;
        }
        visit(value, facts);
    }
}

}  // namespace

FunctionBodyFacts inspect_plpgsql_body(const std::string& body) {
    // The PL/pgSQL parser takes a whole CREATE FUNCTION; the body is quoted with a dollar tag
    // that it cannot contain.
    std::string tag = "$datafix_body$";
    for (int i = 0; body.find(tag) != std::string::npos; ++i) {
        tag = "$datafix_body_" + std::to_string(i) + "$";
    }
    const std::string create =
        "CREATE FUNCTION datafix_inspected() RETURNS trigger LANGUAGE "
        "plpgsql AS " +
        tag + body + tag;
    PgQueryPlpgsqlParseResult r = pg_query_parse_plpgsql(create.c_str());
    if (r.error != nullptr) {
        std::string message = r.error->message != nullptr ? r.error->message : "parse error";
        pg_query_free_plpgsql_parse_result(r);
        throw Error(ErrorCode::invalid_input, "trigger function body does not parse: " + message);
    }
    FunctionBodyFacts facts;
    auto functions =
        nlohmann::json::parse(r.plpgsql_funcs != nullptr ? r.plpgsql_funcs : "[]", nullptr, false);
    pg_query_free_plpgsql_parse_result(r);
    if (!functions.is_discarded()) {
        visit(functions, facts);
    }
    return facts;
}

FunctionBodyFacts inspect_sql_body(const std::string& body) {
    FunctionBodyFacts facts;
    add_writes_of(facts, body);
    return facts;
}

}  // namespace datafix::sql
