// Constant folding of conditions, three-valued like SQL: each expression is true, false, NULL, or
// unknown (depends on the row, or on something the guard does not evaluate), and then which column
// references can point at the target's row.
//
// The folding must never call a condition false or NULL that PostgreSQL finds true: such a
// condition is let through as "changes nothing". So it folds exactly or not at all: integers with
// overflow checks, booleans, text equality (byte-wise, as the default deterministic collations
// compare), NULL logic. Decimals, text ordering (collation-dependent) and casts to other types are
// left unknown, which is safe: an unknown condition that names no column of the target is refused
// anyway.
#include "sql/internal/constant_truth.hpp"

#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace datafix::sql::internal {

namespace {

enum class Truth { yes, no, null, unknown };

struct Constant {
    // `typed` is a value cast to a type the guard does not model (date, uuid, ...): only equal
    // text of the same type is known to compare equal.
    enum class Type { null, boolean, integer, text, typed } type = Type::null;
    bool boolean = false;
    long long integer = 0;
    std::string text;
    std::string type_name;  // for typed
};

// Recursion in the folder is bounded twice: analyze() refuses input nested deeper than
// kMaxNesting before it is parsed, and the folder stops (failing closed) at this depth.
constexpr int kMaxFoldDepth = 10000;

std::string trimmed_lower(const std::string& text) {
    std::size_t first = text.find_first_not_of(" \t\r\n\f\v");
    if (first == std::string::npos) {
        return {};
    }
    std::string out = text.substr(first, text.find_last_not_of(" \t\r\n\f\v") - first + 1);
    for (char& c : out) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

// As PostgreSQL's boolin: any unique prefix of true/false/yes/no, on/off (two letters at least),
// 1/0, surrounding whitespace ignored.
std::optional<bool> parse_boolean_text(const std::string& text) {
    std::string t = trimmed_lower(text);
    if (t.empty()) {
        return std::nullopt;
    }
    auto prefix_of = [&t](std::string_view word, std::size_t minimum) {
        return t.size() >= minimum && word.starts_with(t);
    };
    if (prefix_of("true", 1) || prefix_of("yes", 1) || t == "on" || t == "1") {
        return true;
    }
    if (prefix_of("false", 1) || prefix_of("no", 1) || prefix_of("off", 2) || t == "0") {
        return false;
    }
    return std::nullopt;
}

// As int8in: optional sign, digits, surrounding whitespace.
std::optional<long long> parse_integer_text(const std::string& text) {
    std::string t = trimmed_lower(text);
    if (t.empty()) {
        return std::nullopt;
    }
    std::size_t digits = t[0] == '-' || t[0] == '+' ? 1 : 0;
    if (digits == t.size() || t.find_first_not_of("0123456789", digits) != std::string::npos) {
        return std::nullopt;
    }
    errno = 0;
    long long value = std::strtoll(t.c_str(), nullptr, 10);
    if (errno == ERANGE) {
        return std::nullopt;
    }
    return value;
}

Constant boolean_constant(bool b) {
    Constant c;
    c.type = Constant::Type::boolean;
    c.boolean = b;
    return c;
}

Constant integer_constant(long long i) {
    Constant c;
    c.type = Constant::Type::integer;
    c.integer = i;
    return c;
}

Constant text_constant(std::string text) {
    Constant c;
    c.type = Constant::Type::text;
    c.text = std::move(text);
    return c;
}

Truth from_bool(bool b) {
    return b ? Truth::yes : Truth::no;
}

Truth truth_of_constant(const std::optional<Constant>& c) {
    if (!c) {
        return Truth::unknown;
    }
    switch (c->type) {
        case Constant::Type::null:
            return Truth::null;
        case Constant::Type::boolean:
            return from_bool(c->boolean);
        case Constant::Type::text: {
            std::optional<bool> b = parse_boolean_text(c->text);
            return b ? from_bool(*b) : Truth::unknown;
        }
        default:
            return Truth::unknown;  // PostgreSQL refuses an integer as a condition anyway
    }
}

std::optional<Constant> from_truth(Truth t) {
    switch (t) {
        case Truth::yes:
            return boolean_constant(true);
        case Truth::no:
            return boolean_constant(false);
        case Truth::null:
            return Constant{};
        default:
            return std::nullopt;
    }
}

// -1, 0, 1, or nothing when the two are not comparable exactly here. An untyped literal compared
// with an integer or a boolean is read as one, as PostgreSQL does.
std::optional<int> compare(const Constant& a, const Constant& b, bool equality_only) {
    auto order = [](auto x, auto y) { return x < y ? -1 : (x > y ? 1 : 0); };
    using Type = Constant::Type;
    if (a.type == Type::integer && b.type == Type::text) {
        std::optional<long long> parsed = parse_integer_text(b.text);
        return parsed ? std::optional<int>(order(a.integer, *parsed)) : std::nullopt;
    }
    if (a.type == Type::text && b.type == Type::integer) {
        std::optional<long long> parsed = parse_integer_text(a.text);
        return parsed ? std::optional<int>(order(*parsed, b.integer)) : std::nullopt;
    }
    if (a.type == Type::boolean && b.type == Type::text) {
        std::optional<bool> parsed = parse_boolean_text(b.text);
        return parsed ? std::optional<int>(order(a.boolean, *parsed)) : std::nullopt;
    }
    if (a.type == Type::text && b.type == Type::boolean) {
        std::optional<bool> parsed = parse_boolean_text(a.text);
        return parsed ? std::optional<int>(order(*parsed, b.boolean)) : std::nullopt;
    }
    if (a.type != b.type) {
        return std::nullopt;
    }
    switch (a.type) {
        case Type::integer:
            return order(a.integer, b.integer);
        case Type::boolean:
            return order(a.boolean, b.boolean);
        case Type::text:
            // Equality is byte-wise; ordering follows a collation the guard does not know.
            if (a.text == b.text) {
                return 0;
            }
            return equality_only ? std::optional<int>(1) : std::nullopt;
        case Type::typed:
            if (a.type_name == b.type_name && a.text == b.text) {
                return 0;
            }
            return std::nullopt;
        case Type::null:
            return std::nullopt;
    }
    return std::nullopt;
}

std::optional<bool> apply_comparison(const std::string& op, int order) {
    if (op == "=") {
        return order == 0;
    }
    if (op == "<>") {
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

bool is_comparison(const std::string& op) {
    return op == "=" || op == "<>" || op == "<" || op == ">" || op == "<=" || op == ">=";
}

std::optional<long long> apply_arithmetic(const std::string& op, long long a, long long b) {
    long long out = 0;
    if (op == "+") {
        return __builtin_add_overflow(a, b, &out) ? std::nullopt : std::optional<long long>(out);
    }
    if (op == "-") {
        return __builtin_sub_overflow(a, b, &out) ? std::nullopt : std::optional<long long>(out);
    }
    if (op == "*") {
        return __builtin_mul_overflow(a, b, &out) ? std::nullopt : std::optional<long long>(out);
    }
    if ((op == "/" || op == "%") && b != 0 && !(a == LLONG_MIN && b == -1)) {
        return op == "/" ? a / b : a % b;  // both truncate toward zero, as PostgreSQL's
    }
    return std::nullopt;
}

// The operator of an A_Expr: `=` or OPERATOR(pg_catalog.=); empty for anything else.
std::string operator_name(const PgQuery__AExpr& e) {
    if (e.n_name == 1) {
        return string_value(e.name[0]);
    }
    if (e.n_name == 2 && string_value(e.name[0]) == "pg_catalog") {
        return string_value(e.name[1]);
    }
    return {};
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

class Folder {
  public:
    Truth truth(const PgQuery__Node* node) { return truth_of_constant(value(node)); }

    // The condition was nested deeper than the folder goes: the caller must not trust "unknown".
    bool too_deep() const { return too_deep_; }

    std::optional<Constant> value(const PgQuery__Node* node) {
        if (depth_ >= kMaxFoldDepth) {
            too_deep_ = true;
            return std::nullopt;
        }
        ++depth_;
        std::optional<Constant> out = value_of(unwrap(node));
        --depth_;
        return out;
    }

  private:
    std::optional<Constant> value_of(const ProtobufCMessage* m) {
        if (m == nullptr) {
            return std::nullopt;
        }
        if (const auto* a = as<PgQuery__AConst>(m, pg_query__a__const__descriptor)) {
            return a_const(*a);
        }
        if (const auto* cast = as<PgQuery__TypeCast>(m, pg_query__type_cast__descriptor)) {
            return type_cast(*cast);
        }
        if (const auto* e = as<PgQuery__AExpr>(m, pg_query__a__expr__descriptor)) {
            return a_expr(*e);
        }
        if (const auto* e = as<PgQuery__BoolExpr>(m, pg_query__bool_expr__descriptor)) {
            return from_truth(bool_expr(*e));
        }
        if (const auto* t = as<PgQuery__NullTest>(m, pg_query__null_test__descriptor)) {
            return from_truth(null_test(*t));
        }
        if (const auto* t = as<PgQuery__BooleanTest>(m, pg_query__boolean_test__descriptor)) {
            return from_truth(boolean_test(*t));
        }
        if (const auto* c = as<PgQuery__CoalesceExpr>(m, pg_query__coalesce_expr__descriptor)) {
            return coalesce(*c);
        }
        if (const auto* c = as<PgQuery__CaseExpr>(m, pg_query__case_expr__descriptor)) {
            return case_expr(*c);
        }
        if (const auto* link = as<PgQuery__SubLink>(m, pg_query__sub_link__descriptor)) {
            return sub_link(*link);
        }
        return std::nullopt;
    }

    static std::optional<Constant> a_const(const PgQuery__AConst& a) {
        if (a.isnull) {
            return Constant{};
        }
        switch (a.val_case) {
            case PG_QUERY__A__CONST__VAL_IVAL:
                return integer_constant(a.ival->ival);
            case PG_QUERY__A__CONST__VAL_FVAL: {
                // Integers too large for int4 arrive here; decimals are not folded.
                std::optional<long long> i =
                    parse_integer_text(a.fval->fval != nullptr ? a.fval->fval : "");
                return i ? std::optional<Constant>(integer_constant(*i)) : std::nullopt;
            }
            case PG_QUERY__A__CONST__VAL_BOOLVAL:
                return boolean_constant(a.boolval->boolval);
            case PG_QUERY__A__CONST__VAL_SVAL:
                return text_constant(a.sval->sval != nullptr ? a.sval->sval : "");
            default:
                return std::nullopt;
        }
    }

    std::optional<Constant> type_cast(const PgQuery__TypeCast& cast) {
        std::optional<Constant> value = this->value(cast.arg);
        if (!value || cast.type_name == nullptr || cast.type_name->n_names == 0 ||
            cast.type_name->n_array_bounds != 0) {
            return std::nullopt;
        }
        if (value->type == Constant::Type::null) {
            return value;
        }
        std::string type = string_value(cast.type_name->names[cast.type_name->n_names - 1]);
        using Type = Constant::Type;
        if (type == "bool") {
            if (value->type == Type::boolean) {
                return value;
            }
            if (value->type == Type::text) {
                std::optional<bool> b = parse_boolean_text(value->text);
                return b ? std::optional<Constant>(boolean_constant(*b)) : std::nullopt;
            }
            if (value->type == Type::integer) {
                return boolean_constant(value->integer != 0);  // int4 -> bool
            }
            return std::nullopt;
        }
        if (type == "int2" || type == "int4" || type == "int8") {
            if (value->type == Type::integer) {
                return value;
            }
            if (value->type == Type::text) {
                std::optional<long long> i = parse_integer_text(value->text);
                return i ? std::optional<Constant>(integer_constant(*i)) : std::nullopt;
            }
            if (value->type == Type::boolean) {
                return integer_constant(value->boolean ? 1 : 0);
            }
            return std::nullopt;
        }
        if (type == "text" || type == "varchar") {
            if (value->type == Type::text) {
                return value;
            }
            if (value->type == Type::integer) {
                return text_constant(std::to_string(value->integer));
            }
            if (value->type == Type::boolean) {
                return text_constant(value->boolean ? "true" : "false");
            }
            return std::nullopt;
        }
        if (value->type == Type::text) {
            Constant typed;
            typed.type = Type::typed;
            typed.text = value->text;
            typed.type_name = type;
            return typed;
        }
        return std::nullopt;
    }

    std::optional<Constant> a_expr(const PgQuery__AExpr& e) {
        switch (e.kind) {
            case PG_QUERY__A__EXPR__KIND__AEXPR_OP:
                return operation(e);
            case PG_QUERY__A__EXPR__KIND__AEXPR_IN:
                return from_truth(in_list(e));
            case PG_QUERY__A__EXPR__KIND__AEXPR_DISTINCT:
            case PG_QUERY__A__EXPR__KIND__AEXPR_NOT_DISTINCT:
                return from_truth(distinct(e));
            case PG_QUERY__A__EXPR__KIND__AEXPR_BETWEEN:
            case PG_QUERY__A__EXPR__KIND__AEXPR_NOT_BETWEEN:
            case PG_QUERY__A__EXPR__KIND__AEXPR_BETWEEN_SYM:
            case PG_QUERY__A__EXPR__KIND__AEXPR_NOT_BETWEEN_SYM:
                return from_truth(between(e));
            default:
                return std::nullopt;
        }
    }

    std::optional<Constant> operation(const PgQuery__AExpr& e) {
        std::string op = operator_name(e);
        if (op.empty()) {
            return std::nullopt;
        }
        if (e.lexpr == nullptr) {  // prefix operator
            std::optional<Constant> arg = value(e.rexpr);
            if (!arg || (op != "-" && op != "+")) {
                return std::nullopt;
            }
            if (arg->type == Constant::Type::null) {
                return arg;
            }
            if (arg->type != Constant::Type::integer || arg->integer == LLONG_MIN) {
                return std::nullopt;
            }
            return integer_constant(op == "-" ? -arg->integer : arg->integer);
        }
        std::optional<Constant> left = value(e.lexpr);
        std::optional<Constant> right = value(e.rexpr);
        bool left_null = left && left->type == Constant::Type::null;
        bool right_null = right && right->type == Constant::Type::null;
        if (is_comparison(op)) {
            if (left && right) {
                if (left_null || right_null) {
                    return Constant{};
                }
                std::optional<int> order = compare(*left, *right, op == "=" || op == "<>");
                std::optional<bool> result = order ? apply_comparison(op, *order) : std::nullopt;
                if (result) {
                    return boolean_constant(*result);
                }
            }
            // An expression compared with itself holds for every row where it is not NULL.
            if ((op == "=" || op == "<=" || op == ">=") && (!left || !right) &&
                same_tree(unwrap(e.lexpr), unwrap(e.rexpr))) {
                return boolean_constant(true);
            }
            return std::nullopt;
        }
        if (!left || !right) {
            return std::nullopt;
        }
        if (left_null || right_null) {
            return Constant{};  // every operator folded here is strict
        }
        if (op == "||" && left->type == Constant::Type::text &&
            right->type == Constant::Type::text) {
            return text_constant(left->text + right->text);
        }
        if (left->type == Constant::Type::integer && right->type == Constant::Type::integer) {
            std::optional<long long> result = apply_arithmetic(op, left->integer, right->integer);
            return result ? std::optional<Constant>(integer_constant(*result)) : std::nullopt;
        }
        return std::nullopt;
    }

    Truth in_list(const PgQuery__AExpr& e) {
        std::string op = operator_name(e);
        std::optional<Constant> left = value(e.lexpr);
        const auto* list = as<PgQuery__List>(unwrap(e.rexpr), pg_query__list__descriptor);
        if (!left || list == nullptr || (op != "=" && op != "<>")) {
            return Truth::unknown;
        }
        bool in = op == "=";  // NOT IN is spelled with "<>"
        if (left->type == Constant::Type::null) {
            return Truth::null;
        }
        bool all_different = true;
        bool any_null = false;
        for (std::size_t i = 0; i < list->n_items; ++i) {
            std::optional<Constant> item = value(list->items[i]);
            if (item && item->type == Constant::Type::null) {
                any_null = true;
                continue;
            }
            std::optional<int> order = item ? compare(*left, *item, true) : std::nullopt;
            if (order == 0) {
                return from_bool(in);
            }
            all_different = all_different && order.has_value();
        }
        if (!all_different) {
            return Truth::unknown;
        }
        return any_null ? Truth::null : from_bool(!in);
    }

    Truth distinct(const PgQuery__AExpr& e) {
        bool not_distinct = e.kind == PG_QUERY__A__EXPR__KIND__AEXPR_NOT_DISTINCT;
        std::optional<Constant> left = value(e.lexpr);
        std::optional<Constant> right = value(e.rexpr);
        if (left && right) {
            bool left_null = left->type == Constant::Type::null;
            bool right_null = right->type == Constant::Type::null;
            if (left_null || right_null) {
                return from_bool((left_null == right_null) == not_distinct);
            }
            std::optional<int> order = compare(*left, *right, true);
            if (order) {
                return from_bool((*order == 0) == not_distinct);
            }
        }
        if (not_distinct && same_tree(unwrap(e.lexpr), unwrap(e.rexpr))) {
            return Truth::yes;  // NULL IS NOT DISTINCT FROM NULL too
        }
        return Truth::unknown;
    }

    Truth between(const PgQuery__AExpr& e) {
        const auto* bounds = as<PgQuery__List>(unwrap(e.rexpr), pg_query__list__descriptor);
        std::optional<Constant> x = value(e.lexpr);
        if (bounds == nullptr || bounds->n_items != 2 || !x) {
            return Truth::unknown;
        }
        std::optional<Constant> low = value(bounds->items[0]);
        std::optional<Constant> high = value(bounds->items[1]);
        if (!low || !high) {
            return Truth::unknown;
        }
        using Type = Constant::Type;
        if (x->type == Type::null || low->type == Type::null || high->type == Type::null) {
            return Truth::unknown;  // NULL logic of BETWEEN is AND of two comparisons: not worth it
        }
        std::optional<int> above_low = compare(*x, *low, false);
        std::optional<int> below_high = compare(*x, *high, false);
        if (!above_low || !below_high) {
            return Truth::unknown;
        }
        bool inside = *above_low >= 0 && *below_high <= 0;
        bool symmetric = e.kind == PG_QUERY__A__EXPR__KIND__AEXPR_BETWEEN_SYM ||
                         e.kind == PG_QUERY__A__EXPR__KIND__AEXPR_NOT_BETWEEN_SYM;
        if (symmetric) {
            inside = inside || (*above_low <= 0 && *below_high >= 0);
        }
        bool negated = e.kind == PG_QUERY__A__EXPR__KIND__AEXPR_NOT_BETWEEN ||
                       e.kind == PG_QUERY__A__EXPR__KIND__AEXPR_NOT_BETWEEN_SYM;
        return from_bool(inside != negated);
    }

    // `x OR NOT x` and `x IS NULL OR x IS NOT NULL` hold for every row. Found through hashes of
    // the arguments, not by comparing every pair: an OR may have thousands of arguments.
    static bool has_complementary_pair(const PgQuery__BoolExpr& e) {
        std::unordered_multimap<std::size_t, const ProtobufCMessage*> plain;
        std::unordered_multimap<std::size_t, const ProtobufCMessage*> is_null;
        for (std::size_t i = 0; i < e.n_args; ++i) {
            const ProtobufCMessage* arg = unwrap(e.args[i]);
            if (arg == nullptr) {
                continue;
            }
            plain.emplace(tree_hash(arg), arg);
            const auto* test = as<PgQuery__NullTest>(arg, pg_query__null_test__descriptor);
            if (test != nullptr && test->nulltesttype == PG_QUERY__NULL_TEST_TYPE__IS_NULL) {
                const ProtobufCMessage* tested = unwrap(test->arg);
                is_null.emplace(tree_hash(tested), tested);
            }
        }
        auto found = [](const auto& map, const ProtobufCMessage* wanted) {
            auto [first, last] = map.equal_range(tree_hash(wanted));
            for (auto it = first; it != last; ++it) {
                if (same_tree(it->second, wanted)) {
                    return true;
                }
            }
            return false;
        };
        for (std::size_t i = 0; i < e.n_args; ++i) {
            const ProtobufCMessage* arg = unwrap(e.args[i]);
            const auto* negation = as<PgQuery__BoolExpr>(arg, pg_query__bool_expr__descriptor);
            if (negation != nullptr && negation->boolop == PG_QUERY__BOOL_EXPR_TYPE__NOT_EXPR &&
                negation->n_args == 1 && found(plain, unwrap(negation->args[0]))) {
                return true;
            }
            const auto* test = as<PgQuery__NullTest>(arg, pg_query__null_test__descriptor);
            if (test != nullptr && test->nulltesttype == PG_QUERY__NULL_TEST_TYPE__IS_NOT_NULL &&
                found(is_null, unwrap(test->arg))) {
                return true;
            }
        }
        return false;
    }

    Truth bool_expr(const PgQuery__BoolExpr& e) {
        bool any_yes = false;
        bool any_no = false;
        bool any_null = false;
        bool any_unknown = false;
        for (std::size_t i = 0; i < e.n_args; ++i) {
            Truth t = truth(e.args[i]);
            any_yes = any_yes || t == Truth::yes;
            any_no = any_no || t == Truth::no;
            any_null = any_null || t == Truth::null;
            any_unknown = any_unknown || t == Truth::unknown;
        }
        switch (e.boolop) {
            case PG_QUERY__BOOL_EXPR_TYPE__NOT_EXPR:
                if (e.n_args != 1 || any_unknown) {
                    return Truth::unknown;
                }
                return any_null ? Truth::null : from_bool(any_no);
            case PG_QUERY__BOOL_EXPR_TYPE__AND_EXPR:
                if (any_no) {
                    return Truth::no;
                }
                if (any_unknown) {
                    return Truth::unknown;
                }
                return any_null ? Truth::null : Truth::yes;
            case PG_QUERY__BOOL_EXPR_TYPE__OR_EXPR:
                if (any_yes || has_complementary_pair(e)) {
                    return Truth::yes;
                }
                if (any_unknown) {
                    return Truth::unknown;
                }
                return any_null ? Truth::null : Truth::no;
            default:
                return Truth::unknown;
        }
    }

    Truth null_test(const PgQuery__NullTest& test) {
        std::optional<Constant> value = this->value(test.arg);
        if (!value) {
            return Truth::unknown;
        }
        bool is_null = value->type == Constant::Type::null;
        return from_bool(test.nulltesttype == PG_QUERY__NULL_TEST_TYPE__IS_NULL ? is_null
                                                                                : !is_null);
    }

    Truth boolean_test(const PgQuery__BooleanTest& test) {
        Truth arg = truth(test.arg);
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

    std::optional<Constant> coalesce(const PgQuery__CoalesceExpr& c) {
        for (std::size_t i = 0; i < c.n_args; ++i) {
            std::optional<Constant> arg = value(c.args[i]);
            if (!arg) {
                return std::nullopt;
            }
            if (arg->type != Constant::Type::null) {
                return arg;
            }
        }
        return Constant{};
    }

    // Searched CASE only: CASE WHEN <condition> THEN ... ELSE ... END.
    std::optional<Constant> case_expr(const PgQuery__CaseExpr& c) {
        if (c.arg != nullptr) {
            return std::nullopt;
        }
        for (std::size_t i = 0; i < c.n_args; ++i) {
            const auto* when =
                as<PgQuery__CaseWhen>(unwrap(c.args[i]), pg_query__case_when__descriptor);
            if (when == nullptr) {
                return std::nullopt;
            }
            Truth t = truth(when->expr);
            if (t == Truth::yes) {
                return value(when->result);
            }
            if (t == Truth::unknown) {
                return std::nullopt;
            }
        }
        return c.defresult != nullptr ? value(c.defresult) : Constant{};
    }

    std::optional<Constant> sub_link(const PgQuery__SubLink& link) {
        const PgQuery__SelectStmt* select = constant_select(link.subselect);
        if (select == nullptr) {
            return std::nullopt;
        }
        if (link.sub_link_type == PG_QUERY__SUB_LINK_TYPE__EXISTS_SUBLINK) {
            return boolean_constant(true);  // EXISTS (SELECT 1) holds everywhere
        }
        if (link.sub_link_type != PG_QUERY__SUB_LINK_TYPE__EXPR_SUBLINK ||
            select->n_target_list != 1) {
            return std::nullopt;
        }
        const auto* target = as<PgQuery__ResTarget>(unwrap(select->target_list[0]),
                                                    pg_query__res_target__descriptor);
        return target != nullptr ? value(target->val) : std::nullopt;
    }

    int depth_ = 0;
    bool too_deep_ = false;
};

// Which column references can point at the target's row. Subqueries open scopes: a reference
// qualified with a relation of its own subquery (or of one around it, inside the condition) is
// not the target's; an unqualified one may be, and so counts as one.
class TargetReferences {
  public:
    explicit TargetReferences(const PgQuery__Node* statement) {
        const PgQuery__RangeVar* target = nullptr;
        switch (statement->node_case) {
            case PG_QUERY__NODE__NODE_UPDATE_STMT:
                target = statement->update_stmt->relation;
                add_names(statement->update_stmt->from_clause,
                          statement->update_stmt->n_from_clause, root_names_);
                break;
            case PG_QUERY__NODE__NODE_DELETE_STMT:
                target = statement->delete_stmt->relation;
                add_names(statement->delete_stmt->using_clause,
                          statement->delete_stmt->n_using_clause, root_names_);
                break;
            case PG_QUERY__NODE__NODE_MERGE_STMT:
                target = statement->merge_stmt->relation;
                add_names(&statement->merge_stmt->source_relation, 1, root_names_);
                break;
            default:
                break;
        }
        if (target != nullptr) {
            if (target->relname != nullptr) {
                target_names_.insert(target->relname);
            }
            if (target->alias != nullptr && target->alias->aliasname != nullptr) {
                target_names_.insert(target->alias->aliasname);
            }
        }
    }

    bool refers_to_target(const PgQuery__Node* expression) const {
        struct Item {
            const ProtobufCMessage* message;
            std::size_t scope;
        };
        std::vector<Scope> scopes{Scope{0, {}}};  // 0: the statement's own level
        std::vector<Item> pending{Item{unwrap(expression), 0}};
        while (!pending.empty()) {
            Item item = pending.back();
            pending.pop_back();
            if (item.message == nullptr) {
                continue;
            }
            std::size_t scope = item.scope;
            if (const auto* ref =
                    as<PgQuery__ColumnRef>(item.message, pg_query__column_ref__descriptor)) {
                if (may_be_target(*ref, scopes, scope)) {
                    return true;
                }
                continue;
            }
            if (as<PgQuery__CurrentOfExpr>(item.message, pg_query__current_of_expr__descriptor)) {
                return true;
            }
            if (const auto* select =
                    as<PgQuery__SelectStmt>(item.message, pg_query__select_stmt__descriptor)) {
                Scope inner{scope, {}};
                add_names(select->from_clause, select->n_from_clause, inner.names);
                scopes.push_back(std::move(inner));
                scope = scopes.size() - 1;
            }
            for_each_child(item.message, [&pending, scope](const ProtobufCMessage* child) {
                pending.push_back(Item{child, scope});
            });
        }
        return false;
    }

  private:
    struct Scope {
        std::size_t parent;
        std::unordered_set<std::string> names;
    };

    // Names by which FROM items are referred to: aliases, else table or function names; joins
    // contribute both sides. Subqueries inside FROM items are not entered: they are scopes of
    // their own.
    static void add_names(PgQuery__Node* const* items, std::size_t count,
                          std::unordered_set<std::string>& names) {
        auto alias = [&names](const PgQuery__Alias* a) {
            if (a != nullptr && a->aliasname != nullptr) {
                names.insert(a->aliasname);
                return true;
            }
            return false;
        };
        for (std::size_t i = 0; i < count; ++i) {
            walk(unwrap(items[i]), [&](const ProtobufCMessage* m) {
                if (const auto* r = as<PgQuery__RangeVar>(m, pg_query__range_var__descriptor)) {
                    if (!alias(r->alias) && r->relname != nullptr) {
                        names.insert(r->relname);
                    }
                    return false;
                }
                if (const auto* s =
                        as<PgQuery__RangeSubselect>(m, pg_query__range_subselect__descriptor)) {
                    alias(s->alias);
                    return false;
                }
                if (const auto* f =
                        as<PgQuery__RangeFunction>(m, pg_query__range_function__descriptor)) {
                    if (!alias(f->alias)) {
                        walk(m, [&names](const ProtobufCMessage* c) {
                            if (const auto* call =
                                    as<PgQuery__FuncCall>(c, pg_query__func_call__descriptor)) {
                                if (call->n_funcname > 0) {
                                    names.insert(
                                        string_value(call->funcname[call->n_funcname - 1]));
                                }
                                return false;
                            }
                            return true;
                        });
                    }
                    return false;
                }
                if (const auto* f =
                        as<PgQuery__RangeTableFunc>(m, pg_query__range_table_func__descriptor)) {
                    alias(f->alias);
                    return false;
                }
                if (const auto* j = as<PgQuery__JoinExpr>(m, pg_query__join_expr__descriptor)) {
                    alias(j->alias);
                    return true;  // its sides; the ON condition holds no FROM item
                }
                // RangeTableSample wraps a RangeVar; a SubLink in an ON condition is a scope of
                // its own.
                return as<PgQuery__RangeTableSample>(m, pg_query__range_table_sample__descriptor) !=
                       nullptr;
            });
        }
    }

    bool may_be_target(const PgQuery__ColumnRef& ref, const std::vector<Scope>& scopes,
                       std::size_t scope) const {
        if (ref.n_fields == 0) {
            return true;
        }
        if (ref.n_fields == 1) {
            // `*` alone expands the subquery's own FROM; any other single name may be the
            // target's column (or the target's whole row).
            return as<PgQuery__AStar>(unwrap(ref.fields[0]), pg_query__a__star__descriptor) ==
                   nullptr;
        }
        std::string qualifier = string_value(ref.fields[ref.n_fields - 2]);
        for (std::size_t s = scope; s != 0; s = scopes[s].parent) {
            if (scopes[s].names.count(qualifier) != 0) {
                return false;
            }
        }
        if (target_names_.count(qualifier) != 0) {
            return true;
        }
        // A relation of the statement's FROM / USING is not the target; anything else is
        // unknown here, and counts as the target's.
        return root_names_.count(qualifier) == 0;
    }

    std::unordered_set<std::string> target_names_;
    std::unordered_set<std::string> root_names_;
};

}  // namespace

ConditionScope condition_scope(const PgQuery__Node* statement, const PgQuery__Node* condition) {
    Folder folder;
    Truth whole = folder.truth(condition);
    if (folder.too_deep()) {
        return ConditionScope::true_for_every_row;  // fail closed; analyze() refuses this first
    }
    if (whole == Truth::yes) {
        return ConditionScope::true_for_every_row;
    }
    if (whole == Truth::no || whole == Truth::null) {
        return ConditionScope::picks_rows;  // changes nothing
    }
    TargetReferences references(statement);
    if (!references.refers_to_target(condition)) {
        return ConditionScope::ignores_rows;
    }
    // `id = 1 OR EXISTS (SELECT 1 FROM t)`: one branch that ignores the row widens the whole
    // condition to every row whenever that branch holds.
    std::vector<const PgQuery__Node*> branches{condition};
    while (!branches.empty()) {
        const PgQuery__Node* branch = branches.back();
        branches.pop_back();
        const auto* e = as<PgQuery__BoolExpr>(unwrap(branch), pg_query__bool_expr__descriptor);
        if (e != nullptr && e->boolop == PG_QUERY__BOOL_EXPR_TYPE__OR_EXPR) {
            branches.insert(branches.end(), e->args, e->args + e->n_args);
            continue;
        }
        if (branch == condition) {
            break;  // not an OR: the whole was judged above
        }
        Truth t = folder.truth(branch);
        if (t != Truth::no && t != Truth::null && !references.refers_to_target(branch)) {
            return ConditionScope::ignores_rows;
        }
    }
    return ConditionScope::picks_rows;
}

}  // namespace datafix::sql::internal
