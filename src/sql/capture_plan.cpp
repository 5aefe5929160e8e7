// capture_plan(): rewrites an allowed data change into the queries that capture its rows. The new
// trees borrow the parsed statement's subtrees (WITH, FROM, WHERE, ...) and are deparsed by
// libpg_query, so the before-select reads exactly the rows the statement's own clauses name.
#include "sql/capture_plan.hpp"

#include <memory>
#include <vector>

#include "core/error.hpp"
#include "sql/internal/pg_tree.hpp"

namespace datafix::sql {

namespace {

using internal::unwrap;

// Owns the nodes built for a rewrite; they point into the parsed tree, which outlives them.
class NodeArena {
  public:
    template <class T>
    T* make(T value) {
        auto holder = std::make_unique<Holder<T>>(std::move(value));
        T* raw = &holder->value;
        items_.push_back(std::move(holder));
        return raw;
    }

    PgQuery__Node** list(std::vector<PgQuery__Node*> nodes) {
        return make(std::move(nodes))->data();
    }

    PgQuery__Node* node(PgQuery__SelectStmt* select) {
        PgQuery__Node n = PG_QUERY__NODE__INIT;
        n.node_case = PG_QUERY__NODE__NODE_SELECT_STMT;
        n.select_stmt = select;
        return make(n);
    }

    PgQuery__Node* string_node(const std::string& text) {
        PgQuery__String s = PG_QUERY__STRING__INIT;
        s.sval = make(text)->data();
        PgQuery__Node n = PG_QUERY__NODE__INIT;
        n.node_case = PG_QUERY__NODE__NODE_STRING;
        n.string = make(s);
        return make(n);
    }

    // <alias>.*
    PgQuery__Node* all_columns_of(const std::string& alias) {
        PgQuery__AStar star = PG_QUERY__A__STAR__INIT;
        PgQuery__Node star_node = PG_QUERY__NODE__INIT;
        star_node.node_case = PG_QUERY__NODE__NODE_A_STAR;
        star_node.a_star = make(star);
        PgQuery__ColumnRef ref = PG_QUERY__COLUMN_REF__INIT;
        ref.n_fields = 2;
        ref.fields = list({string_node(alias), make(star_node)});
        PgQuery__Node ref_node = PG_QUERY__NODE__INIT;
        ref_node.node_case = PG_QUERY__NODE__NODE_COLUMN_REF;
        ref_node.column_ref = make(ref);
        PgQuery__ResTarget target = PG_QUERY__RES_TARGET__INIT;
        target.val = make(ref_node);
        PgQuery__Node target_node = PG_QUERY__NODE__INIT;
        target_node.node_case = PG_QUERY__NODE__NODE_RES_TARGET;
        target_node.res_target = make(target);
        return make(target_node);
    }

    PgQuery__Node* one() {
        PgQuery__Integer value = PG_QUERY__INTEGER__INIT;
        value.ival = 1;
        PgQuery__AConst constant = PG_QUERY__A__CONST__INIT;
        constant.val_case = PG_QUERY__A__CONST__VAL_IVAL;
        constant.ival = make(value);
        PgQuery__Node constant_node = PG_QUERY__NODE__INIT;
        constant_node.node_case = PG_QUERY__NODE__NODE_A_CONST;
        constant_node.a_const = make(constant);
        PgQuery__ResTarget target = PG_QUERY__RES_TARGET__INIT;
        target.val = make(constant_node);
        PgQuery__Node target_node = PG_QUERY__NODE__INIT;
        target_node.node_case = PG_QUERY__NODE__NODE_RES_TARGET;
        target_node.res_target = make(target);
        return make(target_node);
    }

    PgQuery__Node* range_var(PgQuery__RangeVar* relation) {
        PgQuery__Node n = PG_QUERY__NODE__INIT;
        n.node_case = PG_QUERY__NODE__NODE_RANGE_VAR;
        n.range_var = relation;
        return make(n);
    }

    // EXISTS (SELECT 1 FROM <from> WHERE <where>): keeps one before-image per target row however
    // many rows of FROM/USING join it.
    PgQuery__Node* exists(std::vector<PgQuery__Node*> from, PgQuery__Node* where) {
        PgQuery__SelectStmt inner = PG_QUERY__SELECT_STMT__INIT;
        inner.n_target_list = 1;
        inner.target_list = list({one()});
        inner.n_from_clause = from.size();
        inner.from_clause = list(std::move(from));
        inner.where_clause = where;
        inner.limit_option = PG_QUERY__LIMIT_OPTION__LIMIT_OPTION_DEFAULT;
        inner.op = PG_QUERY__SET_OPERATION__SETOP_NONE;
        PgQuery__SubLink link = PG_QUERY__SUB_LINK__INIT;
        link.sub_link_type = PG_QUERY__SUB_LINK_TYPE__EXISTS_SUBLINK;
        link.subselect = node(make(inner));
        PgQuery__Node n = PG_QUERY__NODE__INIT;
        n.node_case = PG_QUERY__NODE__NODE_SUB_LINK;
        n.sub_link = make(link);
        return make(n);
    }

  private:
    struct Base {
        virtual ~Base() = default;
    };
    template <class T>
    struct Holder : Base {
        explicit Holder(T v) : value(std::move(v)) {}
        T value;
    };
    std::vector<std::unique_ptr<Base>> items_;
};

void describe_target(const PgQuery__RangeVar& relation, CapturePlan& plan) {
    plan.schema = relation.schemaname != nullptr ? relation.schemaname : "";
    plan.table = relation.relname != nullptr ? relation.relname : "";
    bool aliased = relation.alias != nullptr && relation.alias->aliasname != nullptr &&
                   relation.alias->aliasname[0] != '\0';
    plan.alias = aliased ? relation.alias->aliasname : plan.table;
}

std::vector<PgQuery__Node*> as_vector(PgQuery__Node** items, std::size_t count) {
    return std::vector<PgQuery__Node*>(items, items + count);
}

// SELECT <alias>.* FROM <relation> WHERE <where>, or WHERE EXISTS (...) when the statement joins
// other relations through FROM/USING/MERGE ... USING.
std::string before_select(int32_t version, NodeArena& arena, const std::string& alias,
                          PgQuery__RangeVar* relation, PgQuery__WithClause* with,
                          std::vector<PgQuery__Node*> joined, PgQuery__Node* where) {
    PgQuery__SelectStmt select = PG_QUERY__SELECT_STMT__INIT;
    select.n_target_list = 1;
    select.target_list = arena.list({arena.all_columns_of(alias)});
    select.n_from_clause = 1;
    select.from_clause = arena.list({arena.range_var(relation)});
    select.where_clause = joined.empty() ? where : arena.exists(std::move(joined), where);
    select.with_clause = with;
    select.limit_option = PG_QUERY__LIMIT_OPTION__LIMIT_OPTION_DEFAULT;
    select.op = PG_QUERY__SET_OPERATION__SETOP_NONE;
    return internal::deparse(version, arena.node(arena.make(select)));
}

template <class Statement>
std::string with_returning(int32_t version, NodeArena& arena, const std::string& alias,
                           const Statement& original, PgQuery__Node__NodeCase node_case) {
    Statement copy = original;  // shallow: only the RETURNING list is replaced
    copy.n_returning_list = 1;
    copy.returning_list = arena.list({arena.all_columns_of(alias)});
    PgQuery__Node n = PG_QUERY__NODE__INIT;
    n.node_case = node_case;
    // Every member of the oneof is a pointer in the same storage.
    n.insert_stmt = reinterpret_cast<PgQuery__InsertStmt*>(arena.make(copy));
    return internal::deparse(version, arena.make(n));
}

}  // namespace

CapturePlan capture_plan(const Statement& statement) {
    internal::ParseOutcome parsed = internal::parse(statement.text);
    if (parsed.failure || parsed.tree->n_stmts != 1) {
        throw Error(ErrorCode::internal, "capture_plan needs exactly one parsed statement",
                    "pass a statement returned by sql::analyze");
    }
    int32_t version = parsed.tree->version;
    PgQuery__Node* node = parsed.tree->stmts[0]->stmt;
    NodeArena arena;
    CapturePlan plan;
    switch (node->node_case) {
        case PG_QUERY__NODE__NODE_UPDATE_STMT: {
            PgQuery__UpdateStmt& u = *node->update_stmt;
            describe_target(*u.relation, plan);
            plan.before_select =
                before_select(version, arena, plan.alias, u.relation, u.with_clause,
                              as_vector(u.from_clause, u.n_from_clause), u.where_clause);
            plan.with_returning =
                with_returning(version, arena, plan.alias, u, PG_QUERY__NODE__NODE_UPDATE_STMT);
            return plan;
        }
        case PG_QUERY__NODE__NODE_DELETE_STMT: {
            PgQuery__DeleteStmt& d = *node->delete_stmt;
            describe_target(*d.relation, plan);
            plan.before_select =
                before_select(version, arena, plan.alias, d.relation, d.with_clause,
                              as_vector(d.using_clause, d.n_using_clause), d.where_clause);
            plan.with_returning =
                with_returning(version, arena, plan.alias, d, PG_QUERY__NODE__NODE_DELETE_STMT);
            return plan;
        }
        case PG_QUERY__NODE__NODE_INSERT_STMT: {
            PgQuery__InsertStmt& i = *node->insert_stmt;
            describe_target(*i.relation, plan);
            plan.on_conflict_update =
                i.on_conflict_clause != nullptr &&
                i.on_conflict_clause->action == PG_QUERY__ON_CONFLICT_ACTION__ONCONFLICT_UPDATE;
            plan.with_returning =
                with_returning(version, arena, plan.alias, i, PG_QUERY__NODE__NODE_INSERT_STMT);
            return plan;
        }
        case PG_QUERY__NODE__NODE_MERGE_STMT: {
            PgQuery__MergeStmt& m = *node->merge_stmt;
            describe_target(*m.relation, plan);
            plan.before_select =
                before_select(version, arena, plan.alias, m.relation, m.with_clause,
                              {m.source_relation}, m.join_condition);
            return plan;
        }
        default:
            throw Error(ErrorCode::internal,
                        "capture_plan needs an INSERT, UPDATE, DELETE or MERGE statement, not " +
                            std::string(kind_name(statement.kind)),
                        "ask for a capture plan of allowed data changes only");
    }
}

}  // namespace datafix::sql
