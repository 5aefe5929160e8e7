// Private to the sql layer: libpg_query's JSON form of a parse tree, for the readers that walk it
// as data (function bodies, rules, column sources). One place parses and frees; the small node
// readers they share live here too.
#pragma once

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "sql/analysis.hpp"

namespace datafix::sql::internal {

// The tree of `text` (one or more statements), or nothing when PostgreSQL's parser rejects it.
std::optional<nlohmann::json> json_tree(const std::string& text);

// The same for text PostgreSQL printed itself (pg_get_ruledef, pg_get_functiondef): a rejection
// throws Error(invalid_input) "<what> does not parse: <parser message>".
nlohmann::json json_tree_of_printed(const std::string& text, const std::string& what);

// The expression of "SELECT <expression>" when that parses as a single target, else nothing.
std::optional<nlohmann::json> json_expression(const std::string& expression);

// A String node's text; "" for any other node.
std::string string_value(const nlohmann::json& node);

// A string literal's text, also under a cast ('app.seq'::regclass); "" for any other node.
std::string string_literal(const nlohmann::json& node);

// A FuncCall node as written: its schema when qualified, its name and its argument count (none for
// count(*)); nothing for a call without a name.
std::optional<FunctionCall> function_call(const nlohmann::json& call);

template <class T>
void add_once(std::vector<T>& list, const T& value) {
    if (std::find(list.begin(), list.end(), value) == list.end()) {
        list.push_back(value);
    }
}

}  // namespace datafix::sql::internal
