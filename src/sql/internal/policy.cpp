// The verdict for one statement. Order matters only for which reason is shown first: the kind,
// then what the role of the file allows, then calls and catalogs anywhere in the tree, then the
// WHERE of the statement itself.
#include <algorithm>
#include <optional>
#include <string>
#include <unordered_set>

#include "sql/internal/constant_truth.hpp"
#include "sql/internal/function_policy.hpp"
#include "sql/internal/statement_rules.hpp"

namespace datafix::sql::internal {

namespace {

// What one walk over the whole statement tree found.
struct TreeFindings {
    std::vector<const PgQuery__RangeVar*> written;    // DML targets, the statement's own first
    std::vector<const PgQuery__RangeVar*> relations;  // every relation named, targets included
    std::size_t dml_count = 0;
    std::optional<std::string> denied_call;  // "calls name(), which ..."
    std::vector<FunctionCall> calls;
    std::unordered_set<std::string> call_keys;  // a statement may hold thousands of calls
    std::optional<std::string> catalog_relation;
    bool locking = false;
    bool into = false;
};

bool is_catalog(const PgQuery__RangeVar& relation) {
    std::string schema = relation.schemaname != nullptr ? relation.schemaname : "";
    std::string name = relation.relname != nullptr ? relation.relname : "";
    if (!schema.empty()) {
        // pg_catalog, pg_toast, pg_temp_N and information_schema
        return schema.starts_with("pg_") || schema == "information_schema";
    }
    // Unqualified pg_* names resolve to the catalogs through the search path (pg_authid,
    // pg_stat_activity); application tables are never named so.
    return name.starts_with("pg_");
}

void note_call(const PgQuery__FuncCall& call, CallSite site, TreeFindings& found) {
    if (call.n_funcname == 0) {
        return;
    }
    std::string name = string_value(call.funcname[call.n_funcname - 1]);
    std::string schema =
        call.n_funcname > 1 ? string_value(call.funcname[call.n_funcname - 2]) : "";
    FunctionCall seen{schema, name, call.agg_star ? 0 : static_cast<int>(call.n_args)};
    if (found.call_keys.insert(call_text(seen)).second) {
        found.calls.push_back(std::move(seen));
    }
    if (!found.denied_call) {
        found.denied_call = refused_call(schema, name, site);
    }
}

const PgQuery__RangeVar* dml_target(const ProtobufCMessage* m) {
    if (const auto* s = as<PgQuery__InsertStmt>(m, pg_query__insert_stmt__descriptor)) {
        return s->relation;
    }
    if (const auto* s = as<PgQuery__UpdateStmt>(m, pg_query__update_stmt__descriptor)) {
        return s->relation;
    }
    if (const auto* s = as<PgQuery__DeleteStmt>(m, pg_query__delete_stmt__descriptor)) {
        return s->relation;
    }
    if (const auto* s = as<PgQuery__MergeStmt>(m, pg_query__merge_stmt__descriptor)) {
        return s->relation;
    }
    return nullptr;
}

TreeFindings inspect(const PgQuery__Node* statement, CallSite site) {
    TreeFindings found;
    walk(unwrap(statement), [&found, site](const ProtobufCMessage* m) {
        if (const PgQuery__RangeVar* target = dml_target(m)) {
            ++found.dml_count;
            found.written.push_back(target);
        } else if (const auto* call = as<PgQuery__FuncCall>(m, pg_query__func_call__descriptor)) {
            note_call(*call, site, found);
        } else if (const auto* rel = as<PgQuery__RangeVar>(m, pg_query__range_var__descriptor)) {
            found.relations.push_back(rel);
            if (!found.catalog_relation && is_catalog(*rel)) {
                found.catalog_relation = qualified_name(*rel);
            }
        } else if (as<PgQuery__LockingClause>(m, pg_query__locking_clause__descriptor)) {
            found.locking = true;
        } else if (const auto* s = as<PgQuery__SelectStmt>(m, pg_query__select_stmt__descriptor)) {
            found.into = found.into || s->into_clause != nullptr;
        }
        return true;
    });
    return found;
}

std::string written_list(const TreeFindings& found, std::size_t from) {
    std::string list;
    for (std::size_t i = from; i < found.written.size(); ++i) {
        list += (list.empty() ? "" : ", ") + qualified_name(*found.written[i]);
    }
    return list;
}

Verdict verify_role_verdict(StatementKind kind, const TreeFindings& found) {
    if (kind != StatementKind::select) {
        return refuse("not_select", "a verify file holds only SELECT queries",
                      "move data changes to the change file; verify queries run read-only");
    }
    if (found.into) {
        return refuse("select_into", "SELECT INTO creates a table",
                      "drop the INTO clause; a verify query only returns rows");
    }
    if (found.dml_count > 0) {
        return refuse("data_modifying_cte",
                      "the query's WITH clause writes to " + written_list(found, 0),
                      "move data changes to the change file; verify queries run read-only");
    }
    if (found.locking) {
        return refuse("locking_clause", "FOR UPDATE/SHARE takes row locks",
                      "drop the locking clause; a verify query only reads");
    }
    return {};
}

Verdict change_role_verdict(StatementKind kind, const TreeFindings& found) {
    if (found.into) {
        return refuse("select_into", "SELECT INTO creates a table",
                      "make schema changes through a reviewed migration; a change file holds "
                      "INSERT, UPDATE, DELETE or MERGE statements");
    }
    bool dml = kind == StatementKind::insert || kind == StatementKind::update ||
               kind == StatementKind::delete_ || kind == StatementKind::merge;
    std::size_t own = dml ? 1 : 0;
    if (found.dml_count > own) {
        return refuse("data_modifying_cte", "the WITH clause writes to " + written_list(found, own),
                      "split it into separate statements, one written table each, so each gets "
                      "its own row count and before- and after-images");
    }
    if (!dml) {
        return refuse("select_in_change",
                      "a change file holds only INSERT, UPDATE, DELETE or "
                      "MERGE statements, and a SELECT changes nothing",
                      "put queries that check the change in the verify file (--verify)");
    }
    return {};
}

const PgQuery__Node* own_condition(const PgQuery__Node* statement) {
    switch (statement->node_case) {
        case PG_QUERY__NODE__NODE_UPDATE_STMT:
            return statement->update_stmt->where_clause;
        case PG_QUERY__NODE__NODE_DELETE_STMT:
            return statement->delete_stmt->where_clause;
        case PG_QUERY__NODE__NODE_MERGE_STMT:
            return statement->merge_stmt->join_condition;
        default:
            return nullptr;
    }
}

// The name a column reference would use: the table without its schema.
std::string table_short(const std::string& table) {
    std::size_t dot = table.rfind('.');
    return dot == std::string::npos ? table : table.substr(dot + 1);
}

Verdict where_verdict(StatementKind kind, const StatementFacts& facts, const std::string& table) {
    bool filtered = kind == StatementKind::update || kind == StatementKind::delete_ ||
                    kind == StatementKind::merge;
    if (!filtered) {
        return {};
    }
    std::string verb(kind_name(kind));
    std::transform(verb.begin(), verb.end(), verb.begin(), ::toupper);
    constexpr std::string_view kHint =
        "add a WHERE that names the rows to change (for example by primary key); a change to "
        "every row belongs in a reviewed migration";
    if (!facts.has_where) {
        return refuse("missing_where",
                      verb + " of " + table + " has no WHERE and would touch every row",
                      std::string(kHint));
    }
    std::string clause = kind == StatementKind::merge ? "ON condition" : "WHERE";
    if (facts.where_ignores_rows) {
        return refuse("constant_true_where",
                      "the " + clause + " of " + verb + " on " + table +
                          " (or one of its OR branches) names no column of " + table +
                          ": a subquery that does not refer to its rows, or a condition on "
                          "constants, is the same for every row, so it would touch every row "
                          "or none",
                      "refer to the rows to change, for example `WHERE id = ...` or a subquery "
                      "that names the target's columns (`EXISTS (SELECT 1 FROM other o WHERE "
                      "o.owner_id = " +
                          table_short(table) +
                          ".id)`); a change to every row belongs in a "
                          "reviewed migration");
    }
    if (facts.where_constant_true) {
        return refuse("constant_true_where",
                      "the " + clause + " of " + verb + " on " + table +
                          " is true for every row, so it would touch every row",
                      std::string(kHint));
    }
    return {};
}

}  // namespace

StatementFacts examine(const PgQuery__Node* statement, FileRole role, std::string_view lead) {
    StatementFacts facts;
    Classification classification = classify(statement, lead);
    facts.kind = classification.kind;
    bool inserts = facts.kind == StatementKind::insert || facts.kind == StatementKind::merge;
    TreeFindings found =
        inspect(statement,
                role == FileRole::change && inserts ? CallSite::insert_in_change : CallSite::other);
    // Sets, not searches of the lists: a statement may name thousands of relations.
    std::unordered_set<std::string> written_names;
    for (const PgQuery__RangeVar* relation : found.written) {
        std::string name = qualified_name(*relation);
        if (written_names.insert(name).second) {
            facts.tables_written.push_back(name);
        }
    }
    std::unordered_set<const PgQuery__RangeVar*> targets(found.written.begin(),
                                                         found.written.end());
    std::unordered_set<std::string> read_names;
    for (const PgQuery__RangeVar* relation : found.relations) {
        std::string name = qualified_name(*relation);
        if (targets.count(relation) == 0 && read_names.insert(name).second) {
            facts.tables_read.push_back(name);
        }
    }
    facts.calls = std::move(found.calls);
    const PgQuery__Node* condition = own_condition(statement);
    facts.has_where = condition != nullptr;
    ConditionScope scope =
        condition != nullptr ? condition_scope(statement, condition) : ConditionScope::picks_rows;
    facts.where_constant_true = scope != ConditionScope::picks_rows;
    facts.where_ignores_rows = scope == ConditionScope::ignores_rows;

    if (!classification.refusal.allowed) {
        facts.verdict = classification.refusal;
        return facts;
    }
    Verdict by_role = role == FileRole::verify ? verify_role_verdict(facts.kind, found)
                                               : change_role_verdict(facts.kind, found);
    if (!by_role.allowed) {
        facts.verdict = by_role;
        return facts;
    }
    if (found.denied_call) {
        facts.verdict = refuse(
            "denied_function", "the statement " + *found.denied_call,
            "remove the call: a change may call only PostgreSQL's data functions (text, numbers, "
            "dates, JSON, arrays, uuid, aggregates; the list is in the README's SQL guard "
            "section); call an application or extension function with its schema, as in "
            "app_public.f()");
        return facts;
    }
    if (found.catalog_relation) {
        facts.verdict =
            refuse("system_catalog",
                   "the statement touches " + *found.catalog_relation + ", a system catalog",
                   "datafix works on application tables only; ask the database's "
                   "operators for catalog or role changes");
        return facts;
    }
    std::string table = found.written.empty() ? "" : qualified_name(*found.written.front());
    facts.verdict = where_verdict(facts.kind, facts, table);
    return facts;
}

}  // namespace datafix::sql::internal
