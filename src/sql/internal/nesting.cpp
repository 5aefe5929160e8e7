// The nesting estimate (see nesting.hpp): one pass over the tokens with a stack of open levels.
#include "sql/internal/nesting.hpp"

namespace datafix::sql::internal {

namespace {

enum class Opener { statement, parenthesis, subquery, bracket, case_ };

struct Level {
    Opener opener;
    int run = 0;  // depth-adding tokens since the last separator on this level
};

bool adds_depth(int kind) {
    switch (kind) {
        case '+':
        case '-':
        case '*':
        case '/':
        case '%':
        case '^':
        case '<':
        case '>':
        case '=':
        case PG_QUERY__TOKEN__Op:
        case PG_QUERY__TOKEN__TYPECAST:
        case PG_QUERY__TOKEN__LESS_EQUALS:
        case PG_QUERY__TOKEN__GREATER_EQUALS:
        case PG_QUERY__TOKEN__NOT_EQUALS:
        case PG_QUERY__TOKEN__NOT:
        case PG_QUERY__TOKEN__NOT_LA:
        case PG_QUERY__TOKEN__IS:
        case PG_QUERY__TOKEN__ISNULL:
        case PG_QUERY__TOKEN__NOTNULL:
        case PG_QUERY__TOKEN__LIKE:
        case PG_QUERY__TOKEN__ILIKE:
        case PG_QUERY__TOKEN__SIMILAR:
        case PG_QUERY__TOKEN__BETWEEN:
        case PG_QUERY__TOKEN__IN_P:
        case PG_QUERY__TOKEN__COLLATE:
        case PG_QUERY__TOKEN__AT:
        case PG_QUERY__TOKEN__OVERLAPS:
        case PG_QUERY__TOKEN__UNION:
        case PG_QUERY__TOKEN__INTERSECT:
        case PG_QUERY__TOKEN__EXCEPT:
        case PG_QUERY__TOKEN__JOIN:
        case PG_QUERY__TOKEN__OPERATOR:
            return true;
        default:
            return false;
    }
}

bool separates(int kind) {
    switch (kind) {
        case ',':
        case PG_QUERY__TOKEN__AND:
        case PG_QUERY__TOKEN__OR:
        case PG_QUERY__TOKEN__WHEN:
        case PG_QUERY__TOKEN__THEN:
        case PG_QUERY__TOKEN__ELSE:
            return true;
        default:
            return false;
    }
}

bool opens_query(int kind) {
    return kind == PG_QUERY__TOKEN__SELECT || kind == PG_QUERY__TOKEN__VALUES ||
           kind == PG_QUERY__TOKEN__WITH || kind == PG_QUERY__TOKEN__TABLE;
}

}  // namespace

std::optional<NestingExcess> nesting_excess(const std::vector<Token>& tokens, int limit) {
    std::vector<Level> levels{Level{Opener::statement}};
    long long runs = 0;  // sum of every open level's run
    int subqueries = 0;  // open levels that are subqueries
    auto close = [&](Opener opener) {
        while (levels.size() > 1) {
            Opener top = levels.back().opener;
            runs -= levels.back().run;
            subqueries -= top == Opener::subquery ? 1 : 0;
            levels.pop_back();
            if (top == opener || (opener == Opener::parenthesis && top == Opener::subquery)) {
                return;
            }
        }
    };
    // The next token that is not a comment, for telling `(SELECT` from `(`.
    std::vector<int> next_kind(tokens.size(), 0);
    for (std::size_t i = tokens.size(); i-- > 1;) {
        next_kind[i - 1] = tokens[i].is_comment() ? next_kind[i] : tokens[i].kind;
    }
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        const Token& t = tokens[i];
        if (t.is_comment()) {
            continue;
        }
        switch (t.kind) {
            case '(':
                if (opens_query(next_kind[i])) {
                    levels.push_back(Level{Opener::subquery});
                    if (++subqueries > kMaxSubqueryNesting) {
                        return NestingExcess{static_cast<std::size_t>(t.start), true};
                    }
                } else {
                    levels.push_back(Level{Opener::parenthesis});
                }
                break;
            case '[':
                levels.push_back(Level{Opener::bracket});
                break;
            case PG_QUERY__TOKEN__CASE:
                levels.push_back(Level{Opener::case_});
                break;
            case ')':
                close(Opener::parenthesis);
                break;
            case ']':
                close(Opener::bracket);
                break;
            case PG_QUERY__TOKEN__END_P:
                if (levels.back().opener == Opener::case_) {
                    close(Opener::case_);
                }
                break;
            case ';':
                levels.assign(1, Level{Opener::statement});
                runs = 0;
                subqueries = 0;
                break;
            default:
                if (separates(t.kind)) {
                    runs -= levels.back().run;
                    levels.back().run = 0;
                } else if (adds_depth(t.kind)) {
                    ++levels.back().run;
                    ++runs;
                }
                break;
        }
        if (static_cast<long long>(levels.size()) + runs > limit) {
            return NestingExcess{static_cast<std::size_t>(t.start)};
        }
    }
    return std::nullopt;
}

}  // namespace datafix::sql::internal
