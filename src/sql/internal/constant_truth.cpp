// Constant folding of conditions, three-valued like SQL: each expression is true, false, NULL, or
// unknown (depends on the row). Only the few expression shapes a person writes by mistake or on
// purpose to widen a WHERE are folded; everything else is unknown, which is the safe answer here.
#include "sql/internal/constant_truth.hpp"

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace datafix::sql::internal {

namespace {

enum class Truth { yes, no, null, unknown };

struct Constant {
    enum class Type { null, boolean, number, text } type = Type::null;
    bool boolean = false;
    double number = 0;
    std::string text;
};

Truth truth_of(const PgQuery__Node* node);

std::optional<bool> parse_boolean_text(std::string text) {
    for (char& c : text) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (text == "t" || text == "true" || text == "y" || text == "yes" || text == "on" ||
        text == "1") {
        return true;
    }
    if (text == "f" || text == "false" || text == "n" || text == "no" || text == "off" ||
        text == "0") {
        return false;
    }
    return std::nullopt;
}

Constant from_truth(Truth t) {
    Constant c;
    if (t == Truth::null) {
        return c;
    }
    c.type = Constant::Type::boolean;
    c.boolean = t == Truth::yes;
    return c;
}

std::optional<Constant> constant_of(const PgQuery__Node* node);

std::optional<Constant> constant_of_a_const(const PgQuery__AConst& a) {
    Constant c;
    if (a.isnull) {
        return c;
    }
    switch (a.val_case) {
        case PG_QUERY__A__CONST__VAL_IVAL:
            c.type = Constant::Type::number;
            c.number = a.ival->ival;
            return c;
        case PG_QUERY__A__CONST__VAL_FVAL:
            c.type = Constant::Type::number;
            c.number = std::strtod(a.fval->fval, nullptr);
            return c;
        case PG_QUERY__A__CONST__VAL_BOOLVAL:
            c.type = Constant::Type::boolean;
            c.boolean = a.boolval->boolval;
            return c;
        case PG_QUERY__A__CONST__VAL_SVAL:
            c.type = Constant::Type::text;
            c.text = a.sval->sval;
            return c;
        default:
            return std::nullopt;
    }
}

std::optional<Constant> constant_of_cast(const PgQuery__TypeCast& cast) {
    std::optional<Constant> value = constant_of(cast.arg);
    if (!value || value->type == Constant::Type::null || cast.type_name == nullptr ||
        cast.type_name->n_names == 0) {
        return value;
    }
    std::string type = string_value(cast.type_name->names[cast.type_name->n_names - 1]);
    if (type == "bool" && value->type == Constant::Type::text) {
        std::optional<bool> b = parse_boolean_text(value->text);
        if (!b) {
            return std::nullopt;
        }
        Constant c;
        c.type = Constant::Type::boolean;
        c.boolean = *b;
        return c;
    }
    return value;  // other casts keep the value's own comparison rules, which is close enough
}

// `(SELECT <constant>)`: a scalar subquery with no FROM is a constant too.
const PgQuery__SelectStmt* constant_select(const PgQuery__Node* subselect) {
    const auto* select =
        as<PgQuery__SelectStmt>(unwrap(subselect), pg_query__select_stmt__descriptor);
    if (select == nullptr || select->n_from_clause != 0 || select->where_clause != nullptr ||
        select->having_clause != nullptr || select->limit_count != nullptr ||
        select->limit_offset != nullptr || select->larg != nullptr || select->n_values_lists != 0 ||
        select->n_group_clause != 0) {
        return nullptr;
    }
    return select;
}

std::optional<Constant> constant_of(const PgQuery__Node* node) {
    const ProtobufCMessage* m = unwrap(node);
    if (const auto* a = as<PgQuery__AConst>(m, pg_query__a__const__descriptor)) {
        return constant_of_a_const(*a);
    }
    if (const auto* cast = as<PgQuery__TypeCast>(m, pg_query__type_cast__descriptor)) {
        return constant_of_cast(*cast);
    }
    if (const auto* link = as<PgQuery__SubLink>(m, pg_query__sub_link__descriptor)) {
        const PgQuery__SelectStmt* select = constant_select(link->subselect);
        if (link->sub_link_type != PG_QUERY__SUB_LINK_TYPE__EXPR_SUBLINK || select == nullptr ||
            select->n_target_list != 1) {
            return std::nullopt;
        }
        const auto* target = as<PgQuery__ResTarget>(unwrap(select->target_list[0]),
                                                    pg_query__res_target__descriptor);
        return target != nullptr ? constant_of(target->val) : std::nullopt;
    }
    Truth t = truth_of(node);
    if (t == Truth::unknown) {
        return std::nullopt;
    }
    return from_truth(t);
}

Truth truth_of_constant(const Constant& c) {
    switch (c.type) {
        case Constant::Type::null:
            return Truth::null;
        case Constant::Type::boolean:
            return c.boolean ? Truth::yes : Truth::no;
        case Constant::Type::text: {
            std::optional<bool> b = parse_boolean_text(c.text);
            if (!b) {
                return Truth::unknown;
            }
            return *b ? Truth::yes : Truth::no;
        }
        case Constant::Type::number:
            return Truth::unknown;  // PostgreSQL refuses an integer as a condition anyway
    }
    return Truth::unknown;
}

// -1, 0, 1, or nothing when the two are not comparable here.
std::optional<int> compare(const Constant& a, const Constant& b) {
    if (a.type != b.type) {
        return std::nullopt;
    }
    switch (a.type) {
        case Constant::Type::number:
            return a.number < b.number ? -1 : (a.number > b.number ? 1 : 0);
        case Constant::Type::text:
            return a.text < b.text ? -1 : (a.text > b.text ? 1 : 0);
        case Constant::Type::boolean:
            return static_cast<int>(a.boolean) - static_cast<int>(b.boolean);
        case Constant::Type::null:
            return std::nullopt;
    }
    return std::nullopt;
}

Truth from_bool(bool b) {
    return b ? Truth::yes : Truth::no;
}

std::optional<bool> apply_operator(const std::string& op, int order) {
    if (op == "=") {
        return order == 0;
    }
    if (op == "<>" || op == "!=") {
        return order != 0;
    }
    if (op == "<") {
        return order < 0;
    }
    if (op == ">") {
        return order > 0;
    }
    if (op == "<=") {
        return order <= 0;
    }
    if (op == ">=") {
        return order >= 0;
    }
    return std::nullopt;
}

Truth truth_of_comparison(const PgQuery__AExpr& e) {
    if (e.n_name != 1) {
        return Truth::unknown;
    }
    std::string op = string_value(e.name[0]);
    // An expression compared with itself holds for every row where it is not NULL.
    if ((op == "=" || op == "<=" || op == ">=") && e.lexpr != nullptr &&
        same_tree(unwrap(e.lexpr), unwrap(e.rexpr))) {
        return Truth::yes;
    }
    std::optional<Constant> left = constant_of(e.lexpr);
    std::optional<Constant> right = constant_of(e.rexpr);
    if (!left || !right) {
        return Truth::unknown;
    }
    if (left->type == Constant::Type::null || right->type == Constant::Type::null) {
        return Truth::null;
    }
    std::optional<int> order = compare(*left, *right);
    if (!order) {
        return Truth::unknown;
    }
    std::optional<bool> result = apply_operator(op, *order);
    return result ? from_bool(*result) : Truth::unknown;
}

Truth truth_of_in(const PgQuery__AExpr& e) {
    std::optional<Constant> left = constant_of(e.lexpr);
    const auto* list = as<PgQuery__List>(unwrap(e.rexpr), pg_query__list__descriptor);
    if (!left || list == nullptr || left->type == Constant::Type::null) {
        return Truth::unknown;
    }
    bool in = string_value(e.name[0]) == "=";  // NOT IN is spelled with "<>"
    for (std::size_t i = 0; i < list->n_items; ++i) {
        std::optional<Constant> item = constant_of(list->items[i]);
        if (item && compare(*left, *item) == 0) {
            return from_bool(in);
        }
    }
    return Truth::unknown;
}

Truth truth_of_a_expr(const PgQuery__AExpr& e) {
    switch (e.kind) {
        case PG_QUERY__A__EXPR__KIND__AEXPR_OP:
            return truth_of_comparison(e);
        case PG_QUERY__A__EXPR__KIND__AEXPR_IN:
            return e.n_name == 1 ? truth_of_in(e) : Truth::unknown;
        case PG_QUERY__A__EXPR__KIND__AEXPR_NOT_DISTINCT:
            if (same_tree(unwrap(e.lexpr), unwrap(e.rexpr))) {
                return Truth::yes;  // NULL IS NOT DISTINCT FROM NULL too
            }
            return Truth::unknown;
        default:
            return Truth::unknown;
    }
}

// `x OR NOT x` and `x IS NULL OR x IS NOT NULL` hold for every row.
bool complementary(const PgQuery__Node* a, const PgQuery__Node* b) {
    const auto* not_b = as<PgQuery__BoolExpr>(unwrap(b), pg_query__bool_expr__descriptor);
    if (not_b != nullptr && not_b->boolop == PG_QUERY__BOOL_EXPR_TYPE__NOT_EXPR &&
        not_b->n_args == 1 && same_tree(unwrap(a), unwrap(not_b->args[0]))) {
        return true;
    }
    const auto* null_a = as<PgQuery__NullTest>(unwrap(a), pg_query__null_test__descriptor);
    const auto* null_b = as<PgQuery__NullTest>(unwrap(b), pg_query__null_test__descriptor);
    return null_a != null_b && null_a != nullptr && null_b != nullptr &&
           null_a->nulltesttype != null_b->nulltesttype &&
           same_tree(unwrap(null_a->arg), unwrap(null_b->arg));
}

Truth truth_of_bool_expr(const PgQuery__BoolExpr& e) {
    std::vector<Truth> args;
    for (std::size_t i = 0; i < e.n_args; ++i) {
        args.push_back(truth_of(e.args[i]));
    }
    auto any = [&](Truth t) {
        for (Truth a : args) {
            if (a == t) {
                return true;
            }
        }
        return false;
    };
    switch (e.boolop) {
        case PG_QUERY__BOOL_EXPR_TYPE__NOT_EXPR:
            if (args.size() != 1) {
                return Truth::unknown;
            }
            return args[0] == Truth::yes ? Truth::no
                                         : (args[0] == Truth::no ? Truth::yes : args[0]);
        case PG_QUERY__BOOL_EXPR_TYPE__AND_EXPR:
            if (any(Truth::no)) {
                return Truth::no;
            }
            if (any(Truth::unknown)) {
                return Truth::unknown;
            }
            return any(Truth::null) ? Truth::null : Truth::yes;
        case PG_QUERY__BOOL_EXPR_TYPE__OR_EXPR:
            if (any(Truth::yes)) {
                return Truth::yes;
            }
            for (std::size_t i = 0; i < e.n_args; ++i) {
                for (std::size_t k = 0; k < e.n_args; ++k) {
                    if (i != k && complementary(e.args[i], e.args[k])) {
                        return Truth::yes;
                    }
                }
            }
            if (any(Truth::unknown)) {
                return Truth::unknown;
            }
            return any(Truth::null) ? Truth::null : Truth::no;
        default:
            return Truth::unknown;
    }
}

Truth truth_of_null_test(const PgQuery__NullTest& test) {
    std::optional<Constant> value = constant_of(test.arg);
    if (!value) {
        return Truth::unknown;
    }
    bool is_null = value->type == Constant::Type::null;
    return from_bool(test.nulltesttype == PG_QUERY__NULL_TEST_TYPE__IS_NULL ? is_null : !is_null);
}

Truth truth_of_boolean_test(const PgQuery__BooleanTest& test) {
    Truth arg = truth_of(test.arg);
    if (arg == Truth::unknown) {
        return Truth::unknown;
    }
    switch (test.booltesttype) {
        case PG_QUERY__BOOL_TEST_TYPE__IS_TRUE:
            return from_bool(arg == Truth::yes);
        case PG_QUERY__BOOL_TEST_TYPE__IS_NOT_TRUE:
            return from_bool(arg != Truth::yes);
        case PG_QUERY__BOOL_TEST_TYPE__IS_FALSE:
            return from_bool(arg == Truth::no);
        case PG_QUERY__BOOL_TEST_TYPE__IS_NOT_FALSE:
            return from_bool(arg != Truth::no);
        case PG_QUERY__BOOL_TEST_TYPE__IS_UNKNOWN:
            return from_bool(arg == Truth::null);
        case PG_QUERY__BOOL_TEST_TYPE__IS_NOT_UNKNOWN:
            return from_bool(arg != Truth::null);
        default:
            return Truth::unknown;
    }
}

Truth truth_of(const PgQuery__Node* node) {
    const ProtobufCMessage* m = unwrap(node);
    if (m == nullptr) {
        return Truth::unknown;
    }
    if (const auto* e = as<PgQuery__BoolExpr>(m, pg_query__bool_expr__descriptor)) {
        return truth_of_bool_expr(*e);
    }
    if (const auto* e = as<PgQuery__AExpr>(m, pg_query__a__expr__descriptor)) {
        return truth_of_a_expr(*e);
    }
    if (const auto* t = as<PgQuery__NullTest>(m, pg_query__null_test__descriptor)) {
        return truth_of_null_test(*t);
    }
    if (const auto* t = as<PgQuery__BooleanTest>(m, pg_query__boolean_test__descriptor)) {
        return truth_of_boolean_test(*t);
    }
    if (const auto* link = as<PgQuery__SubLink>(m, pg_query__sub_link__descriptor)) {
        if (link->sub_link_type == PG_QUERY__SUB_LINK_TYPE__EXISTS_SUBLINK &&
            constant_select(link->subselect) != nullptr) {
            return Truth::yes;  // EXISTS (SELECT 1) holds everywhere
        }
    }
    if (as<PgQuery__AConst>(m, pg_query__a__const__descriptor) != nullptr ||
        as<PgQuery__TypeCast>(m, pg_query__type_cast__descriptor) != nullptr ||
        as<PgQuery__SubLink>(m, pg_query__sub_link__descriptor) != nullptr) {
        std::optional<Constant> c = constant_of(node);
        return c ? truth_of_constant(*c) : Truth::unknown;
    }
    return Truth::unknown;
}

}  // namespace

bool is_constant_true(const PgQuery__Node* condition) {
    return truth_of(condition) == Truth::yes;
}

}  // namespace datafix::sql::internal
