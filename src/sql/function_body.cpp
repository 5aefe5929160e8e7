// Trigger function bodies through libpg_query's PL/pgSQL and SQL parsers (see function_body.hpp).
#include "sql/function_body.hpp"

#include <pg_query.h>

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "sql/analysis.hpp"
#include "sql/internal/function_policy.hpp"
#include "sql/internal/json_tree.hpp"
#include "sql/internal/table_writes.hpp"

namespace datafix::sql {

namespace {

// PostgreSQL's elog levels (utils/elog.h): ERROR and above stop the statement.
constexpr int kElogError = 21;

using internal::add_once;
using internal::string_literal;
using internal::string_value;

void add_write(FunctionBodyFacts& facts, const std::string& table, const std::string& command) {
    add_once(facts.writes, table);
    add_once(facts.write_commands, BodyWrite{table, command});
}

std::string command_of(StatementKind kind) {
    switch (kind) {
        case StatementKind::insert:
            return "INSERT";
        case StatementKind::update:
            return "UPDATE";
        case StatementKind::delete_:
            return "DELETE";
        case StatementKind::merge:
            return "MERGE";
        default:
            return {};
    }
}

std::string lowered(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

void add_call(FunctionBodyFacts& facts, const nlohmann::json& call) {
    if (auto seen = internal::function_call(call)) {
        add_once(facts.called, *seen);
    }
}

std::string dotted_name(const nlohmann::json& names) {
    std::string out;
    for (const auto& part : names) {
        out += (out.empty() ? "" : ".") + string_value(part);
    }
    return out;
}

std::string a_expr_kind(const nlohmann::json& expr) {
    const auto& kind = expr.value("kind", nlohmann::json());
    return kind.is_string() ? kind.get<std::string>() : "AEXPR_OP";
}

void add_operator(FunctionBodyFacts& facts, const nlohmann::json& names, bool binary) {
    if (!names.is_array() || names.empty()) {
        return;
    }
    OperatorUse op;
    op.name = string_value(names.back());
    op.schema = names.size() > 1 ? string_value(names[names.size() - 2]) : "";
    op.binary = binary;
    if (!op.name.empty()) {
        add_once(facts.operators, op);
    }
}

// The operators an A_Expr runs. BETWEEN is the parser's shorthand for >= and <=; IN, NULLIF and
// IS DISTINCT FROM carry the operator they run as their name, as LIKE and SIMILAR TO do theirs.
void add_operators_of(FunctionBodyFacts& facts, const nlohmann::json& expr) {
    std::string kind = a_expr_kind(expr);
    bool binary = expr.contains("lexpr") && !expr["lexpr"].is_null();
    if (kind.starts_with("AEXPR_BETWEEN") || kind.starts_with("AEXPR_NOT_BETWEEN")) {
        add_operator(facts, nlohmann::json::array({{{"String", {{"sval", ">="}}}}}), true);
        add_operator(facts, nlohmann::json::array({{{"String", {{"sval", "<="}}}}}), true);
        return;
    }
    add_operator(facts, expr.value("name", nlohmann::json::array()), binary);
}

void add_cast(FunctionBodyFacts& facts, const nlohmann::json& type_name) {
    const auto& names = type_name.value("names", nlohmann::json::array());
    if (names.empty()) {
        return;
    }
    TypeReference type;
    type.name = string_value(names.back());
    type.schema = names.size() > 1 ? string_value(names[names.size() - 2]) : "";
    if (!type.name.empty()) {
        add_once(facts.casts, type);
    }
}

// Calls, operators, casts and role changes anywhere in a parsed SQL tree (statements or
// expressions).
void visit_sql_tree(const nlohmann::json& node, FunctionBodyFacts& facts) {
    if (node.is_array()) {
        for (const auto& item : node) {
            visit_sql_tree(item, facts);
        }
        return;
    }
    if (!node.is_object()) {
        return;
    }
    for (const auto& [key, value] : node.items()) {
        if (key == "A_Expr" && value.is_object()) {
            add_operators_of(facts, value);
        } else if (key == "SubLink" && value.is_object() && value.contains("operName")) {
            add_operator(facts, value["operName"], true);  // x = ANY (SELECT ...)
        } else if (key == "SortBy" && value.is_object() && value.contains("useOp")) {
            add_operator(facts, value["useOp"], true);  // ORDER BY x USING <
        } else if (key == "TypeCast" && value.is_object() && value.contains("typeName")) {
            add_cast(facts, value["typeName"]);
        }
        if (key == "FuncCall" && value.contains("funcname")) {
            add_call(facts, value);
            auto name = dotted_name(value["funcname"]);
            auto lowered_name = lowered(name);
            if (lowered_name == "set_config" || lowered_name == "pg_catalog.set_config") {
                const auto& args = value.value("args", nlohmann::json::array());
                std::string setting = args.empty() ? "" : string_literal(args[0]);
                if (!setting.empty()) {
                    add_once(facts.settings_changed, lowered(setting));
                }
                if (setting == "role" || setting == "session_authorization") {
                    add_once(facts.role_changes, "set_config('" + setting + "', ...)");
                    auto role = args.size() > 1 ? string_literal(args[1]) : "";
                    if (!role.empty()) {
                        add_once(facts.roles_set, role);
                    }
                } else if (setting.empty()) {
                    add_once(facts.role_changes, std::string("set_config(<computed name>, ...)"));
                    add_once(facts.settings_changed, std::string("<computed name>"));
                }
            } else if (lowered_name.rfind("pg_catalog.", 0) != 0) {
                add_once(facts.calls, name);
            }
        } else if (key == "VariableSetStmt") {
            auto name = value.value("name", "");
            if (!name.empty()) {
                add_once(facts.settings_changed, lowered(name));
            }
            if (name == "role" || name == "session_authorization") {
                add_once(facts.role_changes,
                         std::string(name == "role" ? "SET ROLE" : "SET SESSION AUTHORIZATION"));
                for (const auto& arg : value.value("args", nlohmann::json::array())) {
                    auto role = string_literal(arg);
                    if (!role.empty()) {
                        add_once(facts.roles_set, role);
                    }
                }
            }
        }
        visit_sql_tree(value, facts);
    }
}

// Whether `text` parsed; its facts go into `facts` only when it did.
bool add_sql_facts(FunctionBodyFacts& facts, const std::string& text) {
    auto tree = internal::json_tree(text);
    if (tree) {
        visit_sql_tree(*tree, facts);
    }
    return tree.has_value();
}

bool is_plain_kind(StatementKind kind) {
    return kind == StatementKind::insert || kind == StatementKind::update ||
           kind == StatementKind::delete_ || kind == StatementKind::merge ||
           kind == StatementKind::select || kind == StatementKind::set;
}

// The DML statements in `text` (one embedded statement, or a sql function's body).
void add_writes_of(FunctionBodyFacts& facts, const std::string& text) {
    auto tree = internal::json_tree(text);
    if (!tree) {
        facts.unreadable = true;
        return;
    }
    visit_sql_tree(*tree, facts);
    for (auto& w : internal::table_writes_in(*tree)) {
        add_once(facts.table_writes, w);
    }
    try {
        Analysis a = analyze(text, FileRole::change, "function body");
        for (const auto& s : a.statements) {
            for (const auto& t : s.tables_written) {
                add_write(facts, t, command_of(s.kind));
            }
            if (!is_plain_kind(s.kind)) {
                add_once(facts.other_statements, std::string(kind_name(s.kind)));
            }
        }
    } catch (const Error&) {
        // A statement PostgreSQL accepted but our guard cannot read (e.g. empty): nothing to name.
    }
}

bool is_null_expression(const std::string& expression) {
    auto value = internal::json_expression(expression);
    return value && value->contains("A_Const") && (*value)["A_Const"].value("isnull", false);
}

std::string expression_text(const nlohmann::json& node) {
    if (!node.is_object() || !node.contains("PLpgSQL_expr")) {
        return {};
    }
    return node["PLpgSQL_expr"].value("query", "");
}

// PL/pgSQL expressions are SQL expressions: "SELECT <expr>" parses them for calls.
void add_expression_facts(FunctionBodyFacts& facts, const std::string& expression) {
    if (expression.empty()) {
        return;
    }
    // Assignments arrive as "target := expr"; only the expression is SQL.
    auto assign = expression.find(":=");
    auto text = assign == std::string::npos ? expression : expression.substr(assign + 2);
    // A query (a FOR loop's, RETURN QUERY's) parses as it is; an expression as a SELECT list.
    FunctionBodyFacts probe;
    if (add_sql_facts(probe, text)) {
        add_sql_facts(facts, text);
        return;
    }
    if (!add_sql_facts(facts, "SELECT " + text)) {
        facts.unreadable = true;
    }
}

// `NEW.field := expression`: the calls in the expression, once per distinct expression.
void add_new_value(FunctionBodyFacts& facts, const std::string& field,
                   const std::string& assignment, const std::vector<std::string>& only_on) {
    auto assign = assignment.find(":=");
    auto text = assign == std::string::npos ? assignment : assignment.substr(assign + 2);
    auto parsed = expression_facts(text);
    add_once(facts.new_values, NewValue{field, parsed.value, parsed.parsed, only_on});
}

// The events a condition of the form TG_OP = 'INSERT' or TG_OP IN ('INSERT', 'UPDATE') admits;
// empty for any other condition.
std::vector<std::string> tg_op_events(const std::string& condition) {
    std::vector<std::string> events;
    auto value = internal::json_expression(condition);
    if (!value || !value->contains("A_Expr")) {
        return events;
    }
    try {
        const auto& e = (*value)["A_Expr"];
        const auto& left = e.at("lexpr").at("ColumnRef").at("fields");
        auto kind = e.value("kind", "");
        if (left.size() == 1 && lowered(string_value(left[0])) == "tg_op" &&
            e.at("name").size() == 1 && string_value(e.at("name")[0]) == "=") {
            if (kind == "AEXPR_OP") {
                events.push_back(string_literal(e.at("rexpr")));
            } else if (kind == "AEXPR_IN") {
                for (const auto& c : e.at("rexpr").at("List").at("items")) {
                    events.push_back(string_literal(c));
                }
            }
        }
    } catch (const nlohmann::json::exception&) {
        events.clear();
    }
    // TG_OP compared with anything but literals restricts nothing known.
    if (std::find(events.begin(), events.end(), "") != events.end()) {
        events.clear();
    }
    return events;
}

// The NEW record's fields a body assigns: a PLpgSQL_stmt_assign whose target datum is a field
// of the record numbered new_varno; inside IF TG_OP = ..., only on those events.
void add_new_assignments(const nlohmann::json& function, FunctionBodyFacts& facts) {
    if (!function.is_object() || !function.contains("datums")) {
        return;
    }
    const auto& datums = function["datums"];
    int new_varno = function.value("new_varno", -1);
    std::function<void(const nlohmann::json&, const std::vector<std::string>&)> walk =
        [&](const nlohmann::json& node, const std::vector<std::string>& only_on) {
            if (node.is_array()) {
                for (const auto& item : node) {
                    walk(item, only_on);
                }
                return;
            }
            if (!node.is_object()) {
                return;
            }
            for (const auto& [key, value] : node.items()) {
                if (key == "PLpgSQL_stmt_if") {
                    auto events =
                        tg_op_events(expression_text(value.value("cond", nlohmann::json())));
                    std::vector<std::string> narrowed = only_on;
                    if (!events.empty()) {
                        if (only_on.empty()) {
                            narrowed = events;
                        } else {
                            narrowed.clear();
                            for (const auto& e : events) {
                                if (std::find(only_on.begin(), only_on.end(), e) != only_on.end()) {
                                    narrowed.push_back(e);
                                }
                            }
                            if (narrowed.empty()) {
                                continue;  // never taken
                            }
                        }
                    }
                    walk(value.value("then_body", nlohmann::json()), narrowed);
                    walk(value.value("elsif_list", nlohmann::json()), only_on);
                    walk(value.value("else_body", nlohmann::json()), only_on);
                    continue;
                }
                if (key == "PLpgSQL_stmt_assign") {
                    int varno = value.value("varno", -1);
                    if (varno >= 0 && varno < static_cast<int>(datums.size())) {
                        const auto& datum = datums[varno];
                        if (datum.contains("PLpgSQL_recfield") &&
                            datum["PLpgSQL_recfield"].value("recparentno", -2) == new_varno) {
                            auto field =
                                datum["PLpgSQL_recfield"].value("fieldname", std::string());
                            add_once(facts.assigns_new, field);
                            add_new_value(facts, field,
                                          expression_text(value.value("expr", nlohmann::json())),
                                          only_on);
                        }
                    }
                }
                walk(value, only_on);
            }
        };
    walk(function.value("action", nlohmann::json()), {});
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
        if (key == "PLpgSQL_function") {
            add_new_assignments(value, facts);
        }
        if (key == "PLpgSQL_stmt_execsql") {
            add_writes_of(facts, expression_text(value.value("sqlstmt", nlohmann::json())));
        } else if (key == "PLpgSQL_expr" && !node.contains("PLpgSQL_stmt_execsql")) {
            add_expression_facts(facts, value.value("query", ""));
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
        } else if (key == "PLpgSQL_stmt_dynexecute" || key == "PLpgSQL_stmt_dynfors" ||
                   (key == "PLpgSQL_stmt_return_query" && value.contains("dynquery"))) {
            facts.dynamic_sql = true;
        } else if (key == "PLpgSQL_stmt_commit" || key == "PLpgSQL_stmt_rollback") {
            add_once(facts.other_statements, std::string("transaction"));
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

std::optional<std::string> refused_resolved_call(std::string_view schema, std::string_view name,
                                                 bool may_draw_keys) {
    return internal::refused_call(
        schema, name,
        may_draw_keys ? internal::CallSite::insert_in_change : internal::CallSite::other);
}

namespace {

// Every INSERT, UPDATE, DELETE and MERGE anywhere below `node` (a data-modifying WITH included).
void add_tree_writes(const nlohmann::json& node, FunctionBodyFacts& facts) {
    static const std::pair<const char*, const char*> kinds[] = {{"InsertStmt", "INSERT"},
                                                                {"UpdateStmt", "UPDATE"},
                                                                {"DeleteStmt", "DELETE"},
                                                                {"MergeStmt", "MERGE"}};
    if (node.is_array()) {
        for (const auto& item : node) {
            add_tree_writes(item, facts);
        }
        return;
    }
    if (!node.is_object()) {
        return;
    }
    for (const auto& [key, value] : node.items()) {
        for (const auto& [name, command] : kinds) {
            if (key == name && value.is_object()) {
                const auto& relation = value.value("relation", nlohmann::json::object());
                std::string schema = relation.value("schemaname", "");
                std::string table = relation.value("relname", "");
                if (!table.empty()) {
                    add_write(facts, schema.empty() ? table : schema + "." + table, command);
                }
            }
        }
        add_tree_writes(value, facts);
    }
}

// The statements of a SQL-standard body: BEGIN ATOMIC's list (a List holding a List), or RETURN.
void add_body_statements(const nlohmann::json& node, FunctionBodyFacts& facts) {
    if (node.is_array()) {
        for (const auto& item : node) {
            add_body_statements(item, facts);
        }
        return;
    }
    if (!node.is_object()) {
        return;
    }
    for (const auto& [key, value] : node.items()) {
        if (key == "List") {
            add_body_statements(value.value("items", nlohmann::json::array()), facts);
        } else if (key != "InsertStmt" && key != "UpdateStmt" && key != "DeleteStmt" &&
                   key != "MergeStmt" && key != "SelectStmt" && key != "ReturnStmt" &&
                   key != "VariableSetStmt") {
            add_once(facts.other_statements, key);
        }
    }
}

}  // namespace

FunctionBodyFacts inspect_function_definition(const std::string& definition) {
    auto tree = internal::json_tree_of_printed(definition, "function definition");
    const nlohmann::json* body = nullptr;
    try {
        const auto& create = tree.at("stmts").at(0).at("stmt").at("CreateFunctionStmt");
        if (create.contains("sql_body")) {
            body = &create["sql_body"];
        }
    } catch (const nlohmann::json::exception&) {
        body = nullptr;
    }
    if (body == nullptr) {
        throw Error(ErrorCode::invalid_input, "function definition holds no SQL-standard body");
    }
    FunctionBodyFacts facts;
    add_body_statements(*body, facts);
    add_tree_writes(*body, facts);
    visit_sql_tree(*body, facts);
    return facts;
}

FunctionBodyFacts inspect_rule_definition(const std::string& definition) {
    auto tree = internal::json_tree_of_printed(definition, "rule definition");
    FunctionBodyFacts facts;
    const nlohmann::json* rule = nullptr;
    try {
        rule = &tree.at("stmts").at(0).at("stmt").at("RuleStmt");
    } catch (const nlohmann::json::exception&) {
        return facts;
    }
    facts.table_writes = internal::table_writes_in(tree);
    static const std::pair<const char*, const char*> kinds[] = {
        {"InsertStmt", "INSERT"}, {"UpdateStmt", "UPDATE"}, {"DeleteStmt", "DELETE"}};
    for (const auto& action : rule->value("actions", nlohmann::json::array())) {
        for (const auto& [node, command] : kinds) {
            if (!action.contains(node)) {
                continue;
            }
            const auto& relation = action[node].value("relation", nlohmann::json::object());
            std::string schema = relation.value("schemaname", "");
            std::string table = relation.value("relname", "");
            add_write(facts, schema.empty() ? table : schema + "." + table, command);
        }
        visit_sql_tree(action, facts);
    }
    return facts;
}

}  // namespace datafix::sql
