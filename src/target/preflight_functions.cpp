// Resolving and vouching for the application's functions (see preflight_functions.hpp). Names are
// resolved by PostgreSQL's rules as far as an argument count can tell: the schemas of
// current_schemas(true) in order (pg_catalog first unless the path places it), a candidate hidden
// by one with the same argument types earlier in the path dropped; when more than one candidate
// remains and one of them is the application's, the call is ambiguous and refused, since only
// the argument types could tell which runs.
#include "target/preflight_functions.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "core/error.hpp"
#include "sql/function_body.hpp"
#include "target/connection.hpp"
#include "target/preflight_catalog.hpp"

namespace datafix::target {

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

struct Candidate {
    std::string oid;
    std::string schema;
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
    FunctionVoucher(Connection& connection, PreflightReport& report,
                    const EnvironmentTarget& target)
        : connection_(connection), report_(report), target_(target) {}

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
        if (standard_body || !body) {
            return refuse("has a SQL-standard body (BEGIN ATOMIC), which datafix does not read",
                          "define it with a quoted body (AS $$ ... $$) through a migration, or "
                          "write the change without it");
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
        if (f.language == "plpgsql") {
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
        if (facts.dynamic_sql) {
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
            if (is_refused_setting(name) || name == "search_path" || name == "<computed name>") {
                return refuse("changes " + name + " while it runs", "write the change without it");
            }
        }
        if (!facts.role_changes.empty()) {
            return refuse("changes the session's role (" + joined(facts.role_changes) + ")",
                          "write the change without it");
        }

        SearchPathScope scope(connection_, own_path);
        OwnPathCount counted(own_paths_, own_path.has_value());
        for (const auto& w : facts.write_commands) {
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
        for (const auto& call : facts.called) {
            Outcome inner = check_nested(call, f.signature, place, depth + 1);
            if (inner.refusal) {
                return refuse(*inner.refusal, inner.hint);
            }
            for (const auto& w : inner.writes) {
                add_write(out.writes, w);
            }
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
    for (const auto& statement : plan.statements) {
        for (const auto& call : statement.calls) {
            voucher.check_top_level(call, "statement " + std::to_string(statement.index),
                                    CallPlace::change);
        }
    }
    for (const auto& query : plan.verify) {
        for (const auto& call : query.calls) {
            voucher.check_top_level(call, "verify query " + std::to_string(query.index),
                                    CallPlace::verify);
        }
    }
    return voucher.take_writes();
}

void add_function_findings(PreflightReport& report) {
    for (const auto& f : report.functions) {
        if (f.vouched) {
            continue;
        }
        for (const auto& origin : f.called_by) {
            bool statement = origin.starts_with("statement ");
            if (!statement && !origin.starts_with("verify query ")) {
                continue;  // reached through another function, whose finding says so
            }
            Finding finding;
            finding.kind = FindingKind::function_refused;
            finding.severity = Severity::blocker;
            finding.statement = statement ? std::stoi(origin.substr(10)) : 0;
            finding.message = origin + " calls " + f.signature +
                              ", which datafix cannot vouch for: it " + f.refusal;
            finding.hint = f.hint;
            report.findings.push_back(std::move(finding));
        }
    }
}

void refuse_unvouched_functions(const PreflightReport& report) {
    if (const Finding* f = report.function_refusal()) {
        throw Error(ErrorCode::refused,
                    report.environment + ": pre-flight refused the change: " + f->message, f->hint);
    }
}

}  // namespace datafix::target
