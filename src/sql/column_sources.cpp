// Column values of INSERT, UPDATE and MERGE through libpg_query's JSON tree (column_sources.hpp).
#include "sql/column_sources.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "sql/internal/json_tree.hpp"
#include "sql/internal/table_writes.hpp"

namespace datafix::sql {

namespace {

using internal::add_once;
using internal::string_value;
using nlohmann::json;

bool is_clock_keyword(const std::string& op) {
    static const char* const kClock[] = {
        "SVFOP_CURRENT_DATE",      "SVFOP_CURRENT_TIME",        "SVFOP_CURRENT_TIME_N",
        "SVFOP_CURRENT_TIMESTAMP", "SVFOP_CURRENT_TIMESTAMP_N", "SVFOP_LOCALTIME",
        "SVFOP_LOCALTIME_N",       "SVFOP_LOCALTIMESTAMP",      "SVFOP_LOCALTIMESTAMP_N",
    };
    return std::any_of(std::begin(kClock), std::end(kClock),
                       [&](const char* c) { return op == c; });
}

void add_call(const json& call, ValueFacts& facts) {
    auto seen = internal::function_call(call);
    if (!seen) {
        return;
    }
    add_once(facts.calls, *seen);
    const auto& args = call.value("args", json::array());
    if (seen->name == "nextval" && (seen->schema.empty() || seen->schema == "pg_catalog") &&
        !args.empty()) {
        auto sequence = internal::string_literal(args[0]);
        if (!sequence.empty()) {
            add_once(facts.sequences, sequence);
        }
    }
}

// Every call below `node`, subqueries included.
void collect(const json& node, ValueFacts& facts) {
    if (node.is_array()) {
        for (const auto& item : node) {
            collect(item, facts);
        }
        return;
    }
    if (!node.is_object()) {
        return;
    }
    for (const auto& [key, value] : node.items()) {
        if (key == "FuncCall") {
            add_call(value, facts);
        } else if (key == "ColumnRef") {
            const auto& fields = value.value("fields", json::array());
            if (!fields.empty() && string_value(fields[0]) == "new") {
                auto field = fields.size() > 1 ? string_value(fields[1]) : std::string();
                add_once(facts.new_fields, field.empty() ? std::string("*") : field);
            }
        } else if (key == "SQLValueFunction") {
            auto op = value.value("op", "");
            if (is_clock_keyword(op)) {
                add_once(facts.clock_keywords, op.substr(6));  // without "SVFOP_"
            }
        }
        collect(value, facts);
    }
}

ValueFacts value_of(const json& expression) {
    ValueFacts facts;
    if (expression.is_object() && expression.contains("SetToDefault")) {
        facts.default_value = true;
        return facts;
    }
    collect(expression, facts);
    return facts;
}

void merge_into(ValueFacts& into, const ValueFacts& from) {
    for (const auto& c : from.calls) {
        add_once(into.calls, c);
    }
    for (const auto& k : from.clock_keywords) {
        add_once(into.clock_keywords, k);
    }
    for (const auto& s : from.sequences) {
        add_once(into.sequences, s);
    }
    for (const auto& f : from.new_fields) {
        add_once(into.new_fields, f);
    }
    into.default_value = into.default_value || from.default_value;
}

std::string table_name(const json& relation) {
    auto schema = relation.value("schemaname", "");
    auto name = relation.value("relname", "");
    return schema.empty() ? name : schema + "." + name;
}

// The values a SELECT (or VALUES list, or set operation) yields per output position.
void select_values(const json& select, std::vector<ValueFacts>& positions) {
    auto at = [&](std::size_t i) -> ValueFacts& {
        if (positions.size() <= i) {
            positions.resize(i + 1);
        }
        return positions[i];
    };
    if (select.value("op", "SETOP_NONE") != "SETOP_NONE") {
        select_values(select.value("larg", json::object()), positions);
        select_values(select.value("rarg", json::object()), positions);
        return;
    }
    for (const auto& list : select.value("valuesLists", json::array())) {
        const auto& items = list.value("List", json::object()).value("items", json::array());
        for (std::size_t i = 0; i < items.size(); ++i) {
            merge_into(at(i), value_of(items[i]));
        }
    }
    const auto& targets = select.value("targetList", json::array());
    for (std::size_t i = 0; i < targets.size(); ++i) {
        merge_into(
            at(i),
            value_of(targets[i].value("ResTarget", json::object()).value("val", json::object())));
    }
    // Calls outside the list (WHERE, FROM, a WITH) decide which rows, not what goes in them.
}

// A SELECT that is not a plain one under "SelectStmt" arrives as the object itself.
const json& unwrap_select(const json& node) {
    static const json empty = json::object();
    if (node.is_object() && node.contains("SelectStmt")) {
        return node["SelectStmt"];
    }
    return node.is_object() ? node : empty;
}

TableWrite insert_write(const std::string& table, const json& columns, const json* select,
                        const json* values) {
    TableWrite w;
    w.table = table;
    w.command = "INSERT";
    std::vector<ValueFacts> positions;
    if (select != nullptr) {
        select_values(unwrap_select(*select), positions);
    } else if (values != nullptr) {
        for (const auto& v : *values) {
            positions.push_back(value_of(v));
        }
    } else {
        w.default_values = true;
    }
    w.positional = columns.empty() && !w.default_values;
    std::size_t n = columns.empty() ? positions.size() : columns.size();
    for (std::size_t i = 0; i < n; ++i) {
        ColumnWrite c;
        if (!columns.empty()) {
            c.column = columns[i].value("ResTarget", json::object()).value("name", "");
        }
        if (i < positions.size()) {
            c.value = positions[i];
        }
        w.columns.push_back(std::move(c));
    }
    return w;
}

TableWrite update_write(const std::string& table, const json& targets) {
    TableWrite w;
    w.table = table;
    w.command = "UPDATE";
    for (const auto& t : targets) {
        const auto& target = t.value("ResTarget", json::object());
        ColumnWrite c;
        c.column = target.value("name", "");
        const auto& val = target.value("val", json::object());
        if (val.contains("MultiAssignRef")) {
            // (a, b) = (SELECT x, y ...): column number colno of the subquery's list; any other
            // source (a ROW(...)) counts as a whole.
            const auto& ref = val["MultiAssignRef"];
            const auto& source = ref.value("source", json::object());
            std::vector<ValueFacts> positions;
            if (source.contains("SubLink")) {
                select_values(unwrap_select(source["SubLink"].value("subselect", json::object())),
                              positions);
            }
            auto colno = static_cast<std::size_t>(ref.value("colno", 0));
            if (colno >= 1 && colno <= positions.size()) {
                c.value = positions[colno - 1];
            } else {
                collect(source, c.value);
            }
        } else {
            c.value = value_of(val);
        }
        w.columns.push_back(std::move(c));
    }
    return w;
}

void find_writes(const json& node, std::vector<TableWrite>& out) {
    if (node.is_array()) {
        for (const auto& item : node) {
            find_writes(item, out);
        }
        return;
    }
    if (!node.is_object()) {
        return;
    }
    for (const auto& [key, value] : node.items()) {
        if (key == "InsertStmt") {
            auto table = table_name(value.value("relation", json::object()));
            const auto& cols = value.value("cols", json::array());
            const json* select = value.contains("selectStmt") ? &value["selectStmt"] : nullptr;
            out.push_back(insert_write(table, cols, select, nullptr));
            if (value.contains("onConflictClause")) {
                const auto& clause = value["onConflictClause"];
                if (clause.value("action", "") == "ONCONFLICT_UPDATE") {
                    out.push_back(update_write(table, clause.value("targetList", json::array())));
                }
            }
        } else if (key == "UpdateStmt") {
            out.push_back(update_write(table_name(value.value("relation", json::object())),
                                       value.value("targetList", json::array())));
        } else if (key == "MergeStmt") {
            auto table = table_name(value.value("relation", json::object()));
            for (const auto& when : value.value("mergeWhenClauses", json::array())) {
                const auto& clause = when.value("MergeWhenClause", json::object());
                auto command = clause.value("commandType", "");
                const auto& targets = clause.value("targetList", json::array());
                if (command == "CMD_UPDATE") {
                    out.push_back(update_write(table, targets));
                } else if (command == "CMD_INSERT") {
                    const auto& values = clause.value("values", json::array());
                    out.push_back(
                        insert_write(table, targets, nullptr, values.empty() ? nullptr : &values));
                }
            }
        }
        find_writes(value, out);
    }
}

}  // namespace

StatementWrites statement_writes(const std::string& text) {
    StatementWrites out;
    if (auto tree = internal::json_tree(text)) {
        out.parsed = true;
        out.writes = internal::table_writes_in(*tree);
    }
    return out;
}

ExpressionFacts expression_facts(const std::string& expression) {
    ExpressionFacts out;
    if (auto value = internal::json_expression(expression)) {
        out.parsed = true;
        out.value = value_of(*value);
    }
    return out;
}

namespace internal {

std::vector<TableWrite> table_writes_in(const nlohmann::json& tree) {
    std::vector<TableWrite> writes;
    find_writes(tree, writes);
    return writes;
}

}  // namespace internal

}  // namespace datafix::sql
