// Resolving and vouching for the application's functions (see preflight_functions.hpp). Names are
// resolved by PostgreSQL's rules as far as an argument count can tell: the schemas of
// current_schemas(true) in order (pg_catalog first unless the path places it), a candidate hidden
// by one with the same argument types earlier in the path dropped; when more than one candidate
// remains and one of them is the application's, the call is ambiguous and refused, since only
// the argument types could tell which runs. Operators are resolved the same way by name and arity
// (their operands' types are not in the tree), and casts by the type they name; the functions they
// run, and those of a written table's defaults, checks and triggers, meet the same policy.
#include "targetdb/preflight_functions.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "core/error.hpp"
#include "sql/function_body.hpp"
#include "targetdb/connection.hpp"
#include "targetdb/preflight_catalog.hpp"

namespace datafix::targetdb {

namespace {

// Candidates for name with `arguments` arguments: in `$1`'s schema, or (when empty) in the
// schemas of the current search path, in path order.
constexpr const char* kCandidatesSql = R"(
SELECT p.oid::text, n.nspname::text,
       format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),
       p.proargtypes::text, path.o
FROM unnest(CASE WHEN $1 = '' THEN current_schemas(true) ELSE ARRAY[$1::name] END)
     WITH ORDINALITY AS path(nspname, o)
JOIN pg_namespace n ON n.nspname = path.nspname
JOIN pg_proc p ON p.pronamespace = n.oid
WHERE p.proname = $2
  AND ($3::int = p.pronargs
       OR (p.provariadic <> 0 AND $3::int >= p.pronargs - 1)
       OR ($3::int < p.pronargs AND $3::int >= p.pronargs - p.pronargdefaults))
ORDER BY path.o, p.oid)";

// The body only for languages whose source is text datafix reads.
constexpr const char* kFunctionSql = R"(
SELECT n.nspname::text, p.proname::text,
       format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),
       l.lanname::text, p.provolatile::text, p.prosecdef, pg_get_userbyid(p.proowner)::text,
       p.prokind::text, p.prosqlbody IS NOT NULL,
       CASE WHEN l.lanname IN ('sql', 'plpgsql') THEN p.prosrc END
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE p.oid = $1::oid)";

// proconfig entries are "name=value"; the value is needed only for search_path.
constexpr const char* kFunctionSettingsSql = R"(
SELECT lower(split_part(c, '=', 1)), substr(c, strpos(c, '=') + 1)
FROM pg_proc p, unnest(p.proconfig) AS c
WHERE p.oid = $1::oid)";

// Operators named $2 (binary when $3, else prefix) in $1's schema or, when $1 is empty, in the
// schemas of the search path in path order, each with the function it runs. Column 1 marks
// PostgreSQL's own operators (oid below FirstNormalObjectId, 16384).
constexpr const char* kOperatorsSql = R"(
SELECT o.oid < 16384,
       format('%s.%s(%s)', n.nspname, o.oprname,
              concat_ws(', ', CASE WHEN o.oprleft <> 0 THEN format_type(o.oprleft, NULL) END,
                        format_type(o.oprright, NULL))),
       o.oprleft::text || ',' || o.oprright::text,
       p.oid::text, pn.nspname::text, p.proname::text,
       format('%I.%I(%s)', pn.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
FROM unnest(CASE WHEN $1 = '' THEN current_schemas(true) ELSE ARRAY[$1::name] END)
     WITH ORDINALITY AS path(nspname, o)
JOIN pg_namespace n ON n.nspname = path.nspname
JOIN pg_operator o ON o.oprnamespace = n.oid
JOIN pg_proc p ON p.oid = o.oprcode
JOIN pg_namespace pn ON pn.oid = p.pronamespace
WHERE o.oprname = $2 AND (o.oprleft <> 0) = $3::bool
ORDER BY path.o, o.oid)";

// The type a cast names ($1 its schema, or empty for the search path's), as the role resolves it.
constexpr const char* kCastTypeSql = R"(
SELECT t::oid::text, format_type(t::oid, NULL)
FROM to_regtype(CASE WHEN $1 = '' THEN quote_ident($2)
                     ELSE quote_ident($1) || '.' || quote_ident($2) END) AS t
WHERE t IS NOT NULL)";

// Casts into type $1 that run a function, except PostgreSQL's own (oid below 16384): the tree
// names only the target type, so every source type's cast is a candidate.
constexpr const char* kCastsSql = R"(
SELECT format('%s AS %s', format_type(c.castsource, NULL), format_type(c.casttarget, NULL)),
       p.oid::text, pn.nspname::text, p.proname::text,
       format('%I.%I(%s)', pn.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
FROM pg_cast c
JOIN pg_proc p ON p.oid = c.castfunc
JOIN pg_namespace pn ON pn.oid = p.pronamespace
WHERE c.casttarget = $1::oid AND c.oid >= 16384
ORDER BY c.oid)";

// The CHECK expressions of type $1 when it is a domain (its base domains' too, and an array's
// element type's), printed by pg_get_expr: run under an empty search_path, so every name outside
// pg_catalog is schema-qualified.
constexpr const char* kDomainChecksSql = R"(
WITH RECURSIVE t(oid) AS (
    SELECT $1::oid
    UNION
    SELECT CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE ty.typelem END
    FROM t JOIN pg_type ty ON ty.oid = t.oid
    WHERE ty.typtype = 'd' OR (ty.typcategory = 'A' AND ty.typelem <> 0))
SELECT format('check %I of domain %s', c.conname, format_type(c.contypid, NULL)),
       pg_get_expr(c.conbin, 0)
FROM t JOIN pg_constraint c ON c.contypid = t.oid
WHERE c.contype = 'c'
ORDER BY 1)";

// What runs when a row of table $1 is written: column defaults and generated columns (only when
// $2, for an INSERT; an UPDATE recomputes generated columns, so they come with $3), its CHECK
// constraints and the checks of its columns' domains. Under an empty search_path (see above).
constexpr const char* kTableExpressionsSql = R"(
SELECT CASE WHEN a.attgenerated = 's' THEN 'generated column ' ELSE 'default of column ' END
           || format('%s.%I', $1::oid::regclass, a.attname),
       -- A default names no column: printed without the table's oid, which would lock the
       -- table and wait behind its lockers (a backup's pre-flight behind a long transaction).
       pg_get_expr(d.adbin, CASE WHEN a.attgenerated = 's' THEN d.adrelid ELSE 0 END)
FROM pg_attrdef d
JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
WHERE d.adrelid = $1::oid AND NOT a.attisdropped
  AND ($2::bool OR (a.attgenerated = 's' AND $3::bool))
UNION ALL
SELECT format('check constraint %I on %s', c.conname, $1::oid::regclass),
       pg_get_expr(c.conbin, c.conrelid)
FROM pg_constraint c
WHERE c.conrelid = $1::oid AND c.contype = 'c'
UNION ALL
SELECT * FROM (
    WITH RECURSIVE t(oid, col) AS (
        SELECT a.atttypid, a.attname::text FROM pg_attribute a
        WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped
        UNION
        SELECT CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE ty.typelem END, t.col
        FROM t JOIN pg_type ty ON ty.oid = t.oid
        WHERE ty.typtype = 'd' OR (ty.typcategory = 'A' AND ty.typelem <> 0))
    SELECT format('check %I of domain %s (column %s.%I)', c.conname,
                  format_type(c.contypid, NULL), $1::oid::regclass, t.col),
           pg_get_expr(c.conbin, 0)
    FROM t JOIN pg_constraint c ON c.contypid = t.oid
    WHERE c.contype = 'c') AS domain_checks
ORDER BY 1)";

// The function trigger $2 on table $1 runs.
constexpr const char* kTriggerFunctionSql = R"(
SELECT p.oid::text, n.nspname::text, p.proname::text,
       format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
FROM pg_trigger t
JOIN pg_proc p ON p.oid = t.tgfoid
JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE t.tgrelid = $1::oid AND t.tgname = $2)";

struct Candidate {
    std::string oid;
    std::string schema;
    std::string signature;
};

// A function reached through an operator, a cast, an expression or a trigger: known by oid.
struct ReachedFunction {
    std::string oid;
    std::string schema;
    std::string name;
    std::string signature;
};

// What checking one call or one function found.
struct Outcome {
    std::optional<std::string> refusal;  // "runs dynamic SQL ...", as "<f>, which <refusal>"
    std::string hint;
    std::vector<sql::BodyWrite> writes;  // schema-qualified where they resolve
};

bool is_system_schema(const std::string& schema) {
    return schema.starts_with("pg_") || schema == "information_schema";
}

std::string volatility_name(const std::string& provolatile) {
    if (provolatile == "i") {
        return "immutable";
    }
    if (provolatile == "s") {
        return "stable";
    }
    return "volatile";
}

std::string kind_words(const std::string& prokind) {
    if (prokind == "p") {
        return "a procedure";
    }
    if (prokind == "a") {
        return "an aggregate";
    }
    if (prokind == "w") {
        return "a window function";
    }
    return "a function";
}

std::string joined(const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& p : parts) {
        out += (out.empty() ? "" : ", ") + p;
    }
    return out;
}

void add_write(std::vector<sql::BodyWrite>& writes, const sql::BodyWrite& w) {
    if (std::find(writes.begin(), writes.end(), w) == writes.end()) {
        writes.push_back(w);
    }
}

// The allowlist's reason ("calls pg_catalog.f(), which is not one of ...") as what the function
// is ("is not one of ..."), for a function already named.
std::string predicate_of(const std::string& why) {
    if (auto which = why.find(", which "); which != std::string::npos) {
        return why.substr(which + 8);
    }
    if (auto comma = why.find("), "); comma != std::string::npos) {
        return "is " + why.substr(comma + 3);
    }
    return why;
}

// Text pg_get_expr or pg_get_functiondef printed under an empty search_path names everything
// outside pg_catalog with its schema: an unqualified name there is PostgreSQL's own.
void qualify_as_catalog(sql::FunctionBodyFacts& facts) {
    for (auto& c : facts.called) {
        if (c.schema.empty()) {
            c.schema = "pg_catalog";
        }
    }
    for (auto& o : facts.operators) {
        if (o.schema.empty()) {
            o.schema = "pg_catalog";
        }
    }
    for (auto& t : facts.casts) {
        if (t.schema.empty()) {
            t.schema = "pg_catalog";
        }
    }
}

bool has_part(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// Where a reference was found, for a refusal's words: a statement's own, or a function's.
bool is_top_level_origin(const std::string& origin) {
    for (const char* prefix : {"statement ", "verify query ", "operator ", "cast ", "default of ",
                               "generated column ", "check ", "trigger "}) {
        if (origin.starts_with(prefix)) {
            return true;
        }
    }
    return false;
}

bool is_refused_setting(const std::string& name) {
    const auto& refused = refused_function_settings();
    return std::find(refused.begin(), refused.end(), name) != refused.end();
}

// search_path set for the length of a scope (SET LOCAL semantics inside pre-flight's
// transaction), as PostgreSQL sets a function's proconfig while it runs.
class SearchPathScope {
  public:
    SearchPathScope(Connection& connection, const std::optional<std::string>& path)
        : connection_(connection) {
        if (!path) {
            return;
        }
        saved_ = connection_.query("SELECT current_setting('search_path')").scalar();
        connection_.query("SELECT set_config('search_path', $1, true)", {*path});
    }
    ~SearchPathScope() {
        if (!saved_) {
            return;
        }
        try {
            connection_.query("SELECT set_config('search_path', $1, true)", {*saved_});
        } catch (...) {
            // The transaction is rolled back at the end of pre-flight; the path goes with it.
        }
    }
    SearchPathScope(const SearchPathScope&) = delete;
    SearchPathScope& operator=(const SearchPathScope&) = delete;

  private:
    Connection& connection_;
    std::optional<std::string> saved_;
};

// Counts a function's own search_path in force while its body's calls are resolved.
class OwnPathCount {
  public:
    OwnPathCount(int& count, bool counts) : count_(count), counts_(counts) {
        if (counts_) {
            ++count_;
        }
    }
    ~OwnPathCount() {
        if (counts_) {
            --count_;
        }
    }
    OwnPathCount(const OwnPathCount&) = delete;
    OwnPathCount& operator=(const OwnPathCount&) = delete;

  private:
    int& count_;
    bool counts_;
};

class FunctionVoucher {
  public:
    // `triggers`: the functions this voucher reads are trigger functions (and what they call),
    // whose dynamic SQL, role changes and writes the write closure treats on its own.
    FunctionVoucher(Connection& connection, PreflightReport& report,
                    const EnvironmentTarget& target, bool triggers = false)
        : connection_(connection), report_(report), target_(target), triggers_(triggers) {}

    // The operators and casts a statement ("statement 1") or verify query uses.
    void check_statement_references(const sql::FunctionBodyFacts& facts, const std::string& origin,
                                    CallPlace place) {
        for (const auto& op : facts.operators) {
            collect_writes(check_operator(op, origin, place, 1, true));
        }
        for (const auto& type : facts.casts) {
            collect_writes(check_cast(type, origin, place, 1, true));
        }
    }

    // An expression of a written table (`origin`: "default of column app_public.t.c"), as
    // pg_get_expr printed it under an empty search_path.
    Outcome check_expression(const std::string& expression, const std::string& origin) {
        auto facts = sql::inspect_sql_body("SELECT " + expression);
        if (facts.unreadable) {
            Outcome out;
            out.refusal = "is an expression the SQL parser does not read";
            out.hint =
                "write the change without writing that column, or have its owner simplify "
                "the expression through a migration";
            report_refusal(ReachedFunction{"", "", "", "its expression"}, origin, out);
            return out;
        }
        qualify_as_catalog(facts);
        Outcome out;
        for (const auto& call : facts.called) {
            Outcome inner = check_called_by_expression(call, origin);
            for (const auto& w : inner.writes) {
                add_write(out.writes, w);
            }
        }
        for (const auto& op : facts.operators) {
            for (const auto& [cause, inner] :
                 check_operator(op, origin, CallPlace::change, 1, true)) {
                for (const auto& w : inner.writes) {
                    add_write(out.writes, w);
                }
            }
        }
        for (const auto& type : facts.casts) {
            for (const auto& [cause, inner] :
                 check_cast(type, origin, CallPlace::change, 1, true)) {
                for (const auto& w : inner.writes) {
                    add_write(out.writes, w);
                }
            }
        }
        return out;
    }

    // A trigger's function ("trigger _500_audit on app_public.application").
    void check_trigger_function(const ReachedFunction& function, const std::string& origin) {
        check_function(function, origin, CallPlace::change, 1, true);
    }

    // A call written in a statement ("statement 1") or a verify query ("verify query 2").
    void check_top_level(const sql::FunctionCall& call, const std::string& origin,
                         CallPlace place) {
        if (call.schema == "pg_catalog") {
            return;  // the SQL guard's allowlist decided it already
        }
        auto candidates = resolve(call);
        if (candidates.empty()) {
            if (!call.schema.empty()) {
                refuse_call(call, origin, place,
                            "does not exist in " + target_.name + " with " +
                                std::to_string(call.arguments) + " arguments",
                            "check the function's name and arguments, and that the migrations "
                            "ran in " +
                                target_.name);
            }
            // An unqualified name the allowlist admitted and the path does not resolve: the
            // statement fails on it, with PostgreSQL's own message.
            return;
        }
        if (all_catalog(candidates)) {
            return;  // PostgreSQL's own, on the allowlist (the SQL guard checked the name)
        }
        if (candidates.size() > 1) {
            refuse_call(call, origin, place, ambiguity(candidates), ambiguity_hint());
            return;
        }
        const auto& only = candidates.front();
        if (is_system_schema(only.schema)) {
            refuse_call(call, origin, place,
                        "resolves to " + only.signature + ", a function of the system schema " +
                            only.schema,
                        "call PostgreSQL's data functions or the application's own");
            return;
        }
        Outcome outcome = vouch(only, origin, place, 1);
        if (place == CallPlace::change) {
            for (const auto& w : outcome.writes) {
                writes_.push_back(FunctionWrite{
                    w.table, w.command, "function " + only.signature + " called by " + origin});
            }
        }
    }

    std::vector<FunctionWrite> take_writes() { return std::move(writes_); }

  private:
    // A top-level reference's writes join the closure, caused by the function that writes.
    void collect_writes(const std::vector<std::pair<std::string, Outcome>>& outcomes) {
        for (const auto& [cause, outcome] : outcomes) {
            for (const auto& w : outcome.writes) {
                writes_.push_back(FunctionWrite{w.table, w.command, cause});
            }
        }
    }

    // A call in an expression pg_get_expr printed: qualified, resolved by schema and arguments.
    Outcome check_called_by_expression(const sql::FunctionCall& call, const std::string& origin) {
        Outcome out;
        if (call.schema == "pg_catalog") {
            if (auto why = sql::refused_resolved_call("pg_catalog", call.name, true)) {
                out.refusal = predicate_of(*why);
                out.hint = allowlist_hint();
                report_refusal(
                    ReachedFunction{"", "pg_catalog", call.name, "pg_catalog." + call.name + "()"},
                    origin, out);
            }
            return out;
        }
        auto candidates = resolve(call);
        if (candidates.size() != 1) {
            out.refusal =
                candidates.empty() ? "does not resolve in " + target_.name : ambiguity(candidates);
            out.hint = ambiguity_hint();
            report_refusal(ReachedFunction{"", call.schema, call.name, sql::call_text(call)},
                           origin, out);
            return out;
        }
        const auto& only = candidates.front();
        return check_function(ReachedFunction{only.oid, only.schema, call.name, only.signature},
                              origin, CallPlace::change, 1, true);
    }

    // A refusal at the top (a statement's operator, a column's default, a trigger) of a function
    // vouch() does not report itself: PostgreSQL's own, a system schema's, an unreadable
    // expression.
    void report_refusal(const ReachedFunction& function, const std::string& origin,
                        const Outcome& outcome, CallPlace place = CallPlace::change) {
        for (auto& f : report_.functions) {
            if (f.signature == function.signature && !f.vouched && f.refusal == outcome.refusal &&
                f.place == place) {
                if (std::find(f.called_by.begin(), f.called_by.end(), origin) ==
                    f.called_by.end()) {
                    f.called_by.push_back(origin);
                }
                return;
            }
        }
        FunctionReport f;
        f.name = function.schema.empty() ? function.name : function.schema + "." + function.name;
        f.signature = function.signature;
        f.place = place;
        f.called_by.push_back(origin);
        f.vouched = false;
        f.refusal = outcome.refusal.value_or("");
        f.hint = outcome.hint;
        report_.functions.push_back(std::move(f));
    }

    // A function reached other than by a call of its name. `top`: `origin` is where the change
    // reaches it (its refusal becomes a finding); otherwise the signature of the function whose
    // body reaches it, and the refusal goes back to that function.
    Outcome check_function(const ReachedFunction& function, const std::string& origin,
                           CallPlace place, int depth, bool top) {
        Outcome out;
        if (function.schema == "pg_catalog") {
            if (auto why = sql::refused_resolved_call("pg_catalog", function.name,
                                                      place == CallPlace::change)) {
                out.refusal = predicate_of(*why);
                out.hint = allowlist_hint();
                if (top) {
                    report_refusal(function, origin, out, place);
                }
            }
            return out;
        }
        if (is_system_schema(function.schema)) {
            out.refusal = "is a function of the system schema " + function.schema;
            out.hint = "use PostgreSQL's data functions or the application's own";
            if (top) {
                report_refusal(function, origin, out, place);
            }
            return out;
        }
        return vouch(Candidate{function.oid, function.schema, function.signature}, origin, place,
                     depth);
    }

    struct OperatorCandidate {
        std::string shown;  // schema.op(left, right)
        ReachedFunction function;
    };

    // The operators `op` may be, by name and arity (the tree has no types), an earlier schema's
    // operator on the same types hiding a later one, PostgreSQL's own left out.
    std::vector<OperatorCandidate> operator_candidates(const sql::OperatorUse& op) {
        std::string key = op.schema + "." + op.name + (op.binary ? "/2" : "/1");
        bool cacheable = !op.schema.empty() || own_paths_ == 0;
        if (cacheable) {
            if (auto known = operators_.find(key); known != operators_.end()) {
                return known->second;
            }
        }
        auto r = connection_.query(kOperatorsSql, {op.schema, op.name, op.binary ? "t" : "f"});
        std::vector<OperatorCandidate> out;
        std::set<std::string> operand_types;
        for (const auto& row : r.rows) {
            if (!operand_types.insert(row[2].value_or("")).second) {
                continue;
            }
            if (row[0].value_or("f") == "t") {
                continue;  // PostgreSQL's own operator, running PostgreSQL's own function
            }
            out.push_back(OperatorCandidate{
                row[1].value_or(""), ReachedFunction{row[3].value_or(""), row[4].value_or(""),
                                                     row[5].value_or(""), row[6].value_or("")}});
        }
        if (cacheable) {
            operators_[key] = out;
        }
        return out;
    }

    // Each candidate operator's function under the same policy as a call. At the top, returns
    // each vouched function's outcome with its closure cause; nested, the first refusal only
    // ("uses operator ..., which calls ..., which ...").
    std::vector<std::pair<std::string, Outcome>> check_operator(const sql::OperatorUse& op,
                                                                const std::string& origin,
                                                                CallPlace place, int depth,
                                                                bool top) {
        std::vector<std::pair<std::string, Outcome>> out;
        for (const auto& c : operator_candidates(op)) {
            std::string how = "operator " + c.shown;
            std::string reached = top ? how + " in " + origin : origin;
            Outcome inner = check_function(c.function, reached, place, depth, top);
            if (!top && inner.refusal) {
                Outcome refused;
                refused.refusal = "uses " + how + ", which calls " + c.function.signature +
                                  ", which " + *inner.refusal;
                refused.hint = inner.hint;
                return {{reached, refused}};
            }
            out.emplace_back("function " + c.function.signature + " called by " + reached,
                             std::move(inner));
        }
        return out;
    }

    // A cast into `type`: every cast function into it that is not PostgreSQL's own, and the
    // checks of the domain it is.
    std::vector<std::pair<std::string, Outcome>> check_cast(const sql::TypeReference& type,
                                                            const std::string& origin,
                                                            CallPlace place, int depth, bool top) {
        std::vector<std::pair<std::string, Outcome>> out;
        auto found = connection_.query(kCastTypeSql, {type.schema, type.name});
        if (found.rows.empty()) {
            return out;  // not a type here: the statement fails on it with PostgreSQL's message
        }
        const std::string oid = found.rows[0][0].value_or("");
        const std::string shown = found.rows[0][1].value_or(type.name);
        for (const auto& row : connection_.query(kCastsSql, {oid}).rows) {
            std::string how = "cast " + row[0].value_or("");
            std::string reached = top ? how + " in " + origin : origin;
            ReachedFunction function{row[1].value_or(""), row[2].value_or(""), row[3].value_or(""),
                                     row[4].value_or("")};
            Outcome inner = check_function(function, reached, place, depth, top);
            if (!top && inner.refusal) {
                Outcome refused;
                refused.refusal = "uses the " + how + ", which calls " + function.signature +
                                  ", which " + *inner.refusal;
                refused.hint = inner.hint;
                return {{reached, refused}};
            }
            out.emplace_back("function " + function.signature + " called by " + reached,
                             std::move(inner));
        }
        std::vector<std::pair<std::string, std::string>> checks;
        {
            SearchPathScope qualified(connection_, std::string());
            for (const auto& row : connection_.query(kDomainChecksSql, {oid}).rows) {
                checks.emplace_back(row[0].value_or(""), row[1].value_or(""));
            }
        }
        for (const auto& [name, expression] : checks) {
            std::string reached = name + " (cast to " + shown + (top ? " in " + origin : "") + ")";
            if (top) {
                Outcome inner = check_expression(expression, reached);
                out.emplace_back(reached, std::move(inner));
                continue;
            }
            auto facts = sql::inspect_sql_body("SELECT " + expression);
            qualify_as_catalog(facts);
            Outcome inner = judge_references(facts, origin, place, depth);
            if (inner.refusal) {
                Outcome refused;
                refused.refusal = "casts to " + shown + ", whose " + name + " " + *inner.refusal;
                refused.hint = inner.hint;
                return {{reached, refused}};
            }
        }
        return out;
    }

    // A body's calls, operators and casts, nested under `caller`: the first refusal, or the
    // writes of what they call.
    Outcome judge_references(const sql::FunctionBodyFacts& facts, const std::string& caller,
                             CallPlace place, int depth) {
        Outcome out;
        for (const auto& call : facts.called) {
            Outcome inner = check_nested(call, caller, place, depth);
            if (inner.refusal) {
                return inner;
            }
            for (const auto& w : inner.writes) {
                add_write(out.writes, w);
            }
        }
        for (const auto& op : facts.operators) {
            for (const auto& [cause, inner] : check_operator(op, caller, place, depth, false)) {
                if (inner.refusal) {
                    return inner;
                }
                for (const auto& w : inner.writes) {
                    add_write(out.writes, w);
                }
            }
        }
        for (const auto& type : facts.casts) {
            for (const auto& [cause, inner] : check_cast(type, caller, place, depth, false)) {
                if (inner.refusal) {
                    return inner;
                }
                for (const auto& w : inner.writes) {
                    add_write(out.writes, w);
                }
            }
        }
        return out;
    }

    // A qualified name resolves the same under any path, an unqualified one the same under the
    // session's: a file of many statements calling now() or one helper asks once.
    std::vector<Candidate> resolve(const sql::FunctionCall& call) {
        bool cacheable = !call.schema.empty() || own_paths_ == 0;
        std::string key = sql::call_text(call);
        if (cacheable) {
            if (auto known = resolved_.find(key); known != resolved_.end()) {
                return known->second;
            }
        }
        auto found = resolve_on_target(call);
        if (cacheable) {
            resolved_[key] = found;
        }
        return found;
    }

    std::vector<Candidate> resolve_on_target(const sql::FunctionCall& call) {
        auto r = connection_.query(kCandidatesSql,
                                   {call.schema, call.name, std::to_string(call.arguments)});
        std::vector<Candidate> out;
        std::set<std::string> argument_types;
        for (const auto& row : r.rows) {
            // An earlier schema's function with the same argument types hides this one.
            if (!argument_types.insert(row[3].value_or("")).second) {
                continue;
            }
            out.push_back(Candidate{row[0].value_or(""), row[1].value_or(""), row[2].value_or("")});
        }
        return out;
    }

    static bool all_catalog(const std::vector<Candidate>& candidates) {
        return std::all_of(candidates.begin(), candidates.end(),
                           [](const Candidate& c) { return c.schema == "pg_catalog"; });
    }

    static std::string ambiguity(const std::vector<Candidate>& candidates) {
        std::vector<std::string> names;
        names.reserve(candidates.size());
        for (const auto& c : candidates) {
            names.push_back(c.signature);
        }
        return "may resolve to any of " + joined(names) +
               ", and only the arguments' types could tell which runs";
    }

    static std::string ambiguity_hint() {
        return "call the function with its schema and cast its arguments so that one function "
               "matches, or drop the overloads through a migration";
    }

    // A top-level call refused before any function was read (no such function, ambiguous, a
    // system schema's): reported under the call's own text.
    void refuse_call(const sql::FunctionCall& call, const std::string& origin, CallPlace place,
                     const std::string& refusal, const std::string& hint) {
        FunctionReport f;
        f.name = (call.schema.empty() ? "" : call.schema + ".") + call.name;
        f.signature = sql::call_text(call);
        f.place = place;
        f.called_by.push_back(origin);
        f.vouched = false;
        f.refusal = refusal;
        f.hint = hint;
        report_.functions.push_back(std::move(f));
    }

    // A call inside a body, under the search path the body runs with.
    Outcome check_nested(const sql::FunctionCall& call, const std::string& caller, CallPlace place,
                         int depth) {
        Outcome out;
        if (call.schema == "pg_catalog") {
            if (auto why = sql::refused_resolved_call("pg_catalog", call.name,
                                                      place == CallPlace::change)) {
                out.refusal = *why;
                out.hint = allowlist_hint();
            }
            return out;
        }
        auto candidates = resolve(call);
        if (candidates.empty()) {
            out.refusal =
                "calls " + sql::call_text(call) + ", which does not resolve in " + target_.name;
            out.hint = "have the function's owner fix the call through a migration";
            return out;
        }
        if (all_catalog(candidates)) {
            if (auto why = sql::refused_resolved_call("pg_catalog", call.name,
                                                      place == CallPlace::change)) {
                out.refusal = *why;
                out.hint = allowlist_hint();
            }
            return out;
        }
        if (candidates.size() > 1) {
            out.refusal = "calls " + sql::call_text(call) + ", which " + ambiguity(candidates);
            out.hint = ambiguity_hint();
            return out;
        }
        const auto& only = candidates.front();
        if (auto why =
                sql::refused_resolved_call(only.schema, call.name, place == CallPlace::change)) {
            out.refusal = *why;
            out.hint = allowlist_hint();
            return out;
        }
        Outcome inner = vouch(only, caller, place, depth);
        if (inner.refusal) {
            out.refusal = "calls " + only.signature + ", which " + *inner.refusal;
            out.hint = inner.hint;
        }
        out.writes = std::move(inner.writes);
        return out;
    }

    static std::string allowlist_hint() {
        return "a function datafix vouches for calls only PostgreSQL's data functions (the list "
               "is in the README's SQL guard section) and application functions it vouches for";
    }

    Outcome vouch(const Candidate& function, const std::string& origin, CallPlace place,
                  int depth) {
        auto key = std::pair{function.oid, place};
        if (auto done = done_.find(key); done != done_.end()) {
            auto& f = report_.functions[done->second.first];
            if (std::find(f.called_by.begin(), f.called_by.end(), origin) == f.called_by.end()) {
                f.called_by.push_back(origin);
            }
            return done->second.second;
        }
        if (auto open = open_.find(key); open != open_.end()) {
            // A cycle: the function is being checked further up; what it does is judged there.
            auto& f = report_.functions[open->second];
            if (std::find(f.called_by.begin(), f.called_by.end(), origin) == f.called_by.end()) {
                f.called_by.push_back(origin);
            }
            return {};
        }
        std::size_t index = report_.functions.size();
        report_.functions.push_back(read_function(function.oid, place));
        report_.functions[index].called_by.push_back(origin);
        open_[key] = index;
        Outcome out = judge(function.oid, index, place, depth);
        open_.erase(key);
        auto& f = report_.functions[index];
        f.write_commands = out.writes;
        if (out.refusal) {
            f.vouched = false;
            f.refusal = *out.refusal;
            f.hint = out.hint;
        }
        done_[key] = {index, out};
        return out;
    }

    FunctionReport read_function(const std::string& oid, CallPlace place) {
        auto r = connection_.query(kFunctionSql, {oid});
        FunctionReport f;
        f.place = place;
        if (r.rows.empty()) {
            return f;
        }
        const auto& row = r.rows[0];
        f.name = row[0].value_or("") + "." + row[1].value_or("");
        f.signature = row[2].value_or("");
        f.language = row[3].value_or("");
        f.volatility = volatility_name(row[4].value_or("v"));
        f.security_definer = row[5].value_or("f") == "t";
        f.owner = row[6].value_or("");
        return f;
    }

    Outcome judge(const std::string& oid, std::size_t index, CallPlace place, int depth) {
        Outcome out;
        auto refuse = [&out](std::string why, std::string hint) {
            out.refusal = std::move(why);
            out.hint = std::move(hint);
            return out;
        };
        const std::string env = target_.name;
        auto r = connection_.query(kFunctionSql, {oid});
        if (r.rows.empty()) {
            return refuse("no longer exists", "run pre-flight again");
        }
        const auto& row = r.rows[0];
        const std::string prokind = row[7].value_or("f");
        const bool standard_body = row[8].value_or("f") == "t";
        const std::optional<std::string> body = row[9];
        // Copies: the report's vector grows while callees are read.
        const FunctionReport f = report_.functions[index];

        if (depth > kMaxFunctionDepth) {
            return refuse("is reached through more than " + std::to_string(kMaxFunctionDepth) +
                              " nested function calls, further than datafix follows",
                          "call a function whose calls nest less deeply, or write the change "
                          "without it");
        }
        if (prokind != "f") {
            return refuse("is " + kind_words(prokind) + ", not a plain function datafix reads",
                          "write the change without it");
        }
        if (f.language != "sql" && f.language != "plpgsql") {
            return refuse(
                "is written in " + f.language + ", and datafix reads only sql and plpgsql bodies",
                "call a sql or plpgsql function, or write the expression in the "
                "statement itself");
        }
        if (!standard_body && !body) {
            return refuse("has no body datafix can read", "write the change without it");
        }
        std::optional<std::string> own_path;
        std::vector<std::string> settings;
        for (const auto& s : connection_.query(kFunctionSettingsSql, {oid}).rows) {
            std::string name = s[0].value_or("");
            settings.push_back(name);
            if (name == "search_path") {
                own_path = s[1].value_or("");
            }
        }
        report_.functions[index].settings = settings;
        for (const auto& name : settings) {
            if (is_refused_setting(name)) {
                return refuse("sets " + name + " for its run (SET " + name +
                                  " in its definition), which datafix does not allow",
                              "have its owner drop SET " + name +
                                  " from the function through a migration, or write the change "
                                  "without it");
            }
        }
        if (f.security_definer) {
            const auto& allowed = target_.vouch_security_definer;
            if (std::find(allowed.begin(), allowed.end(), f.name) == allowed.end()) {
                return refuse("is SECURITY DEFINER: it runs with the privileges of its owner " +
                                  f.owner + ", not of role " + report_.role,
                              "if that is meant, list \"" + f.name +
                                  "\" in vouch_security_definer of environment " + env +
                                  " in datafix.toml (vouch_security_definer = [\"" + f.name +
                                  "\"]); otherwise write the change without it");
            }
            if (!own_path) {
                return refuse(
                    "is SECURITY DEFINER without SET search_path, so the caller's "
                    "search_path decides what it runs with its owner's privileges",
                    "have its owner add SET search_path = pg_catalog, <its schema> to "
                    "the function through a migration");
            }
        }
        if (place == CallPlace::verify && f.volatility == "volatile") {
            return refuse(
                "is VOLATILE, and a verify query calls only STABLE or IMMUTABLE "
                "functions",
                "mark it STABLE through a migration if it only reads, or leave it "
                "out of the verify file");
        }

        sql::FunctionBodyFacts facts;
        if (standard_body) {
            // BEGIN ATOMIC or RETURN: bound to its objects when it was created, and printed under
            // an empty search_path every name outside pg_catalog carries its schema.
            std::string definition;
            {
                SearchPathScope qualified(connection_, std::string());
                definition =
                    connection_.query("SELECT pg_get_functiondef($1::oid)", {oid}).scalar();
            }
            try {
                facts = sql::inspect_function_definition(definition);
            } catch (const Error&) {
                return refuse("has a SQL-standard body the SQL parser does not read",
                              "write the change without it");
            }
            qualify_as_catalog(facts);
        } else if (f.language == "plpgsql") {
            try {
                facts = sql::inspect_plpgsql_body(*body);
            } catch (const Error&) {
                return refuse("has a body the PL/pgSQL parser does not read",
                              "write the change without it");
            }
        } else {
            facts = sql::inspect_sql_body(*body);
        }
        if (facts.unreadable) {
            return refuse(
                "has a body with a statement or expression the SQL parser does not "
                "read",
                "write the change without it");
        }
        if (facts.dynamic_sql && !triggers_) {
            return refuse("runs dynamic SQL (EXECUTE), so what it does cannot be read",
                          "write the change without it, or have its owner replace EXECUTE with "
                          "static statements through a migration; datafix must know every "
                          "table a change writes");
        }
        if (!facts.other_statements.empty()) {
            return refuse("runs statements other than INSERT, UPDATE, DELETE, MERGE and SELECT (" +
                              joined(facts.other_statements) + ")",
                          "write the change without it");
        }
        for (const auto& name : facts.settings_changed) {
            if (triggers_ && (name == "role" || name == "session_authorization")) {
                continue;  // a trigger's role change is a role_change finding
            }
            if (is_refused_setting(name) || name == "search_path" || name == "<computed name>") {
                return refuse("changes " + name + " while it runs", "write the change without it");
            }
        }
        if (!facts.role_changes.empty() && !triggers_) {
            return refuse("changes the session's role (" + joined(facts.role_changes) + ")",
                          "write the change without it");
        }

        SearchPathScope scope(connection_, own_path);
        OwnPathCount counted(own_paths_, own_path.has_value());
        for (const auto& w : triggers_ ? std::vector<sql::BodyWrite>{} : facts.write_commands) {
            auto dot = w.table.find('.');
            auto id =
                resolve_table(connection_, dot == std::string::npos ? "" : w.table.substr(0, dot),
                              dot == std::string::npos ? w.table : w.table.substr(dot + 1));
            if (!id) {
                return refuse("writes " + w.table + ", which does not resolve in " + env,
                              "have the function's owner fix it through a migration");
            }
            add_write(out.writes, sql::BodyWrite{id->schema + "." + id->table, w.command});
        }
        if (place == CallPlace::verify && !out.writes.empty()) {
            std::vector<std::string> tables;
            for (const auto& w : out.writes) {
                tables.push_back(w.table);
            }
            return refuse("writes " + joined(tables) + ", and a verify query only reads",
                          "call a function that writes nothing, or move the call to the change "
                          "file");
        }
        if (triggers_ && std::find(facts.settings_changed.begin(), facts.settings_changed.end(),
                                   "<computed name>") == facts.settings_changed.end()) {
            // A trigger's set_config of a setting named as a literal is judged by that setting,
            // above: the refused ones and search_path refuse, a role change is a role_change
            // finding, the application's own settings (jwt.claims.sub) pass.
            std::erase_if(facts.called, [](const sql::FunctionCall& c) {
                return c.name == "set_config" && (c.schema.empty() || c.schema == "pg_catalog");
            });
        }
        Outcome inner = judge_references(facts, f.signature, place, depth + 1);
        if (inner.refusal) {
            return refuse(*inner.refusal, inner.hint);
        }
        for (const auto& w : inner.writes) {
            add_write(out.writes, w);
        }
        if (place == CallPlace::verify && !out.writes.empty()) {
            return refuse("calls functions that write " + out.writes.front().table +
                              ", and a verify query only reads",
                          "call a function that writes nothing, or move the call to the change "
                          "file");
        }
        return out;
    }

    Connection& connection_;
    PreflightReport& report_;
    const EnvironmentTarget& target_;
    std::map<std::pair<std::string, CallPlace>, std::pair<std::size_t, Outcome>> done_;
    std::map<std::pair<std::string, CallPlace>, std::size_t> open_;
    std::map<std::string, std::vector<Candidate>> resolved_;
    std::map<std::string, std::vector<OperatorCandidate>> operators_;
    bool triggers_ = false;
    int own_paths_ = 0;  // functions with their own search_path being read right now
    std::vector<FunctionWrite> writes_;
};

}  // namespace

const std::vector<std::string>& refused_function_settings() {
    static const std::vector<std::string> names = {
        "role",
        "session_authorization",
        "session_replication_role",
        "row_security",
        "statement_timeout",
        "lock_timeout",
        "idle_in_transaction_session_timeout",
        "idle_session_timeout",
    };
    return names;
}

std::vector<FunctionWrite> check_functions(Connection& connection, PreflightReport& report,
                                           const ChangePlan& plan,
                                           const EnvironmentTarget& target) {
    FunctionVoucher voucher(connection, report, target);
    // The operators and casts come from the statement's tree (the plan keeps only its calls).
    auto references = [](const std::string& text) {
        try {
            return sql::inspect_sql_body(text);
        } catch (const Error&) {
            return sql::FunctionBodyFacts{};  // the guard admitted it; nothing more to read
        }
    };
    for (const auto& statement : plan.statements) {
        std::string origin = "statement " + std::to_string(statement.index);
        for (const auto& call : statement.calls) {
            voucher.check_top_level(call, origin, CallPlace::change);
        }
        voucher.check_statement_references(references(statement.text), origin, CallPlace::change);
    }
    for (const auto& query : plan.verify) {
        std::string origin = "verify query " + std::to_string(query.index);
        for (const auto& call : query.calls) {
            voucher.check_top_level(call, origin, CallPlace::verify);
        }
        voucher.check_statement_references(references(query.text), origin, CallPlace::verify);
    }
    return voucher.take_writes();
}

void add_function_findings(PreflightReport& report) {
    for (const auto& f : report.functions) {
        if (f.vouched) {
            continue;
        }
        for (const auto& origin : f.called_by) {
            if (!is_top_level_origin(origin)) {
                continue;  // reached through another function, whose finding says so
            }
            Finding finding;
            finding.kind = FindingKind::function_refused;
            finding.severity = Severity::blocker;
            // "statement 2", "operator ... in statement 2", "... (cast to t in statement 2)":
            // the statement it is about.
            if (auto at = origin.rfind("statement ");
                at != std::string::npos && !has_part(origin, "verify query ")) {
                std::size_t end = at + 10;
                while (end < origin.size() && origin[end] >= '0' && origin[end] <= '9') {
                    ++end;
                }
                if (end > at + 10) {
                    finding.statement = std::stoi(origin.substr(at + 10, end - at - 10));
                }
            }
            finding.message = origin + (origin.starts_with("trigger ") ? " runs " : " calls ") +
                              f.signature + ", which datafix cannot vouch for: it " + f.refusal;
            finding.hint = f.hint;
            report.findings.push_back(std::move(finding));
        }
    }
}

class ClosureFunctions::State {
  public:
    State(Connection& session, PreflightReport& into, const EnvironmentTarget& target)
        : connection(session),
          report(into),
          scratch(roles_of(into)),
          expressions(session, scratch, target),
          triggers(session, scratch, target, true) {}

    static PreflightReport roles_of(const PreflightReport& report) {
        PreflightReport out;
        out.environment = report.environment;
        out.role = report.role;
        return out;
    }

    // The report lists the functions the change calls; of those that run because a table is
    // written, only the refused ones, each once with every place that reaches it.
    void report_refusals() {
        for (const auto& f : scratch.functions) {
            if (f.vouched) {
                continue;
            }
            for (const auto& origin : f.called_by) {
                if (!is_top_level_origin(origin)) {
                    continue;
                }
                auto known = std::find_if(report.functions.begin(), report.functions.end(),
                                          [&](const FunctionReport& r) {
                                              return r.signature == f.signature &&
                                                     r.refusal == f.refusal && r.place == f.place;
                                          });
                if (known == report.functions.end()) {
                    FunctionReport copy = f;
                    copy.called_by.clear();
                    report.functions.push_back(std::move(copy));
                    known = report.functions.end() - 1;
                }
                if (std::find(known->called_by.begin(), known->called_by.end(), origin) ==
                    known->called_by.end()) {
                    known->called_by.push_back(origin);
                }
            }
        }
    }

    Connection& connection;
    PreflightReport& report;
    PreflightReport scratch;  // what the vouchers read, vouched or not
    FunctionVoucher expressions;
    FunctionVoucher triggers;
    std::set<std::string> expressions_checked;  // table oid and whether INSERT, UPDATE
    std::set<std::string> triggers_checked;     // table oid and trigger name
};

ClosureFunctions::ClosureFunctions(Connection& connection, PreflightReport& report,
                                   const EnvironmentTarget& target)
    : state_(std::make_unique<State>(connection, report, target)) {}

ClosureFunctions::~ClosureFunctions() = default;

std::vector<FunctionWrite> ClosureFunctions::check(
    const std::vector<std::optional<TableIdentity>>& identities,
    const std::vector<TableCommands>& commands) {
    auto& s = *state_;
    std::vector<FunctionWrite> writes;
    for (std::size_t i = 0; i < identities.size() && i < s.report.tables.size(); ++i) {
        if (!identities[i]) {
            continue;
        }
        const auto& id = *identities[i];
        const std::string table = s.report.tables[i].qualified;
        for (const auto& trig : s.report.tables[i].triggers) {
            if (!trig.fires || !s.triggers_checked.insert(id.oid + "/" + trig.name).second) {
                continue;
            }
            auto r = s.connection.query(kTriggerFunctionSql, {id.oid, trig.name});
            if (r.rows.empty()) {
                continue;
            }
            const auto& row = r.rows[0];
            s.triggers.check_trigger_function(
                ReachedFunction{row[0].value_or(""), row[1].value_or(""), row[2].value_or(""),
                                row[3].value_or("")},
                "trigger " + trig.name + " on " + table);
        }
        bool insert = commands[i].may_insert();
        bool update = commands[i].may_update();
        if (!insert && !update) {
            continue;  // a DELETE evaluates no default, generated column or check
        }
        std::string key = id.oid + (insert ? "/i" : "/") + (update ? "u" : "");
        if (!s.expressions_checked.insert(key).second) {
            continue;
        }
        std::vector<std::pair<std::string, std::string>> expressions;
        {
            SearchPathScope qualified(s.connection, std::string());
            auto r = s.connection.query(kTableExpressionsSql,
                                        {id.oid, insert ? "t" : "f", update ? "t" : "f"});
            for (const auto& row : r.rows) {
                expressions.emplace_back(row[0].value_or(""), row[1].value_or(""));
            }
        }
        for (const auto& [origin, expression] : expressions) {
            auto outcome = s.expressions.check_expression(expression, origin);
            for (const auto& w : outcome.writes) {
                writes.push_back(FunctionWrite{w.table, w.command, origin});
            }
        }
    }
    s.report_refusals();
    return writes;
}

void refuse_unvouched_functions(const PreflightReport& report) {
    if (const Finding* f = report.function_refusal()) {
        throw Error(ErrorCode::refused,
                    report.environment + ": pre-flight refused the change: " + f->message, f->hint);
    }
}

}  // namespace datafix::targetdb
