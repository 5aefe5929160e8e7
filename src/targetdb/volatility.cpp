// Volatility of after-image columns from its causes (volatility.hpp).
#include "targetdb/volatility.hpp"

#include <algorithm>
#include <optional>

#include "sql/column_sources.hpp"
#include "targetdb/connection.hpp"
#include "targetdb/evidence_json.hpp"
#include "targetdb/preflight_catalog.hpp"

namespace datafix::targetdb {

namespace {

// A column of a written table, as the catalog has it.
struct ColumnFacts {
    std::string name;
    std::string type;      // the base type's name, e.g. "timestamp with time zone"
    std::string category;  // pg_type.typcategory of the base type: D date/time, N numeric
    std::string identity;  // attidentity: "a", "d" or ""
    std::string identity_sequence;
    std::string default_expression;  // pg_get_expr, or empty
};

constexpr const char* kColumnsSql = R"(
SELECT a.attname::text,
       format_type(COALESCE(NULLIF(t.typbasetype, 0), a.atttypid), NULL),
       (SELECT b.typcategory FROM pg_type b WHERE b.oid = COALESCE(NULLIF(t.typbasetype, 0), a.atttypid))::text,
       a.attidentity::text,
       CASE WHEN a.attidentity <> '' THEN pg_get_serial_sequence(a.attrelid::regclass::text, a.attname) END,
       pg_get_expr(d.adbin, 0)  -- a default names no column; with the oid it would lock the table
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
ORDER BY a.attnum)";

// Whether any function of that name (in that schema, or on the search path) is VOLATILE; true
// when none resolves, so an unknown function is never taken for a deterministic one.
constexpr const char* kVolatileFunctionSql = R"(
SELECT COALESCE(bool_or(p.provolatile = 'v'), true)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.proname = $1
  AND (($2 = '' AND n.nspname = ANY (current_schemas(true))) OR n.nspname = $2))";

const char* const kClockFunctions[] = {"now", "transaction_timestamp", "statement_timestamp",
                                       "clock_timestamp", "timeofday"};
// By name in any schema: uuid-ossp and pgcrypto are installed where the application chose.
const char* const kRandomFunctions[] = {
    "random",           "gen_random_uuid",  "uuid_generate_v1", "uuid_generate_v1mc",
    "uuid_generate_v4", "gen_random_bytes", "gen_salt"};

template <std::size_t N>
bool listed(const char* const (&list)[N], const std::string& name) {
    return std::any_of(std::begin(list), std::end(list), [&](const char* l) { return name == l; });
}

// What one expression contributes: nothing, one class, or "unknown" with why.
struct Verdict {
    std::optional<VolatilityClass> volatility;
    std::string sequence;  // as written in nextval's literal, or resolved for an identity
    std::string detail;    // the call, for the cause text
    std::string unknown;   // non-empty: cannot be known
};

class Learner {
  public:
    Learner(Connection& connection, const PreflightReport& report, const ChangePlan& plan)
        : connection_(connection), report_(report), plan_(plan) {}

    VolatilityModel run() {
        // Append-only tables are only counted at apply: their after-images are shown, never
        // compared, so what varies there does not matter.
        for (const auto& table : report_.tables) {
            if (table.found && !table.append_only) {
                learn_table(table);
            }
        }
        // Values copied from a trigger's NEW vary as the copied columns do, which the first pass
        // learned.
        for (const auto& d : deferred_) {
            const auto& varying = model_.of(d.from);
            for (const auto& field : d.value.new_fields) {
                if (field == "*") {
                    if (!varying.empty()) {
                        add_unknown(d.table->qualified + "." + d.column.name + ": " + d.who +
                                    " copies the whole row of " + d.from + ", whose columns vary");
                    }
                    continue;
                }
                for (const auto& v : varying) {
                    if (v.column == field) {
                        Verdict copied;
                        copied.volatility = v.volatility;
                        copied.sequence = v.sequence;
                        copied.detail = "NEW." + field;
                        record(*d.table, d.column, copied, d.who);
                    }
                }
            }
        }
        for (const auto& name : report_.unknown_writes) {
            add_unknown(name + " runs dynamic SQL: what it writes is not known");
        }
        return std::move(model_);
    }

  private:
    Connection& connection_;
    const PreflightReport& report_;
    const ChangePlan& plan_;
    VolatilityModel model_;
    std::map<std::string, bool> volatile_functions_;
    std::map<std::string, std::string> resolved_;  // spelled table name -> schema.table, or ""
    struct Deferred {
        const TableReport* table;
        ColumnFacts column;
        sql::ValueFacts value;
        std::string from;  // the table whose trigger copies its NEW
        std::string who;
    };
    std::vector<Deferred> deferred_;

    void add_unknown(const std::string& why) {
        if (std::find(model_.unknown.begin(), model_.unknown.end(), why) == model_.unknown.end()) {
            model_.unknown.push_back(why);
        }
    }

    bool is_volatile(const sql::FunctionCall& call) {
        auto key = call.schema + "." + call.name;
        auto it = volatile_functions_.find(key);
        if (it != volatile_functions_.end()) {
            return it->second;
        }
        bool v = connection_.query(kVolatileFunctionSql, {call.name, call.schema}).scalar() == "t";
        volatile_functions_.emplace(key, v);
        return v;
    }

    Verdict classify(const sql::ValueFacts& value) {
        Verdict out;
        auto take = [&](VolatilityClass c, const std::string& detail, const std::string& seq) {
            if (out.volatility && *out.volatility != c) {
                out.unknown = "one value mixes " +
                              std::string(volatility_class_name(*out.volatility)) + " and " +
                              std::string(volatility_class_name(c)) + " (" + detail + ")";
            }
            out.volatility = c;
            if (out.detail.empty()) {
                out.detail = detail;
            }
            if (!seq.empty()) {
                out.sequence = seq;
            }
        };
        for (const auto& keyword : value.clock_keywords) {
            take(VolatilityClass::clock, keyword, "");
        }
        for (const auto& call : value.calls) {
            bool system = call.schema.empty() || call.schema == "pg_catalog";
            std::string shown = (call.schema.empty() ? "" : call.schema + ".") + call.name + "()";
            if (system && listed(kClockFunctions, call.name)) {
                take(VolatilityClass::clock, shown, "");
            } else if (system && call.name == "nextval") {
                if (value.sequences.empty()) {
                    out.unknown = "nextval() of a sequence named at run time";
                } else {
                    take(VolatilityClass::sequence, shown, value.sequences.front());
                    if (value.sequences.size() > 1) {
                        out.unknown = "one value draws from several sequences";
                    }
                }
            } else if (listed(kRandomFunctions, call.name)) {
                take(VolatilityClass::random, shown, "");
            } else if (system && (call.name == "setval" || call.name == "currval" ||
                                  call.name == "lastval")) {
                out.unknown = shown + " reads sequence state";
            } else if (is_volatile(call)) {
                out.unknown = "calls " + shown + ", a VOLATILE function";
            }
        }
        return out;
    }

    std::vector<ColumnFacts> columns_of(const TableReport& table) {
        std::vector<ColumnFacts> out;
        for (const auto& row : connection_.query(kColumnsSql, {table.qualified}).rows) {
            ColumnFacts c;
            c.name = row[0].value_or("");
            c.type = row[1].value_or("");
            c.category = row[2].value_or("");
            c.identity = row[3].value_or("");
            c.identity_sequence = row[4].value_or("");
            c.default_expression = row[5].value_or("");
            out.push_back(std::move(c));
        }
        return out;
    }

    // Records `verdict` for `column` of `table`, caused by `who`.
    void record(const TableReport& table, const ColumnFacts& column, const Verdict& verdict,
                const std::string& who) {
        std::string where = table.qualified + "." + column.name;
        if (!verdict.unknown.empty()) {
            add_unknown(where + ": " + who + " " + verdict.unknown);
            return;
        }
        if (!verdict.volatility) {
            return;
        }
        VolatileColumn v;
        v.column = column.name;
        v.volatility = *verdict.volatility;
        v.cause = who + (verdict.detail.empty() ? "" : ": " + verdict.detail);
        if (v.volatility == VolatilityClass::clock) {
            bool checkable = column.type == "timestamp with time zone" ||
                             column.type == "timestamp without time zone" || column.type == "date";
            if (!checkable) {
                add_unknown(where + " (" + column.type + ") gets a clock reading from " + who);
                return;
            }
            v.type = column.type;
        } else if (v.volatility == VolatilityClass::sequence) {
            auto resolved =
                connection_.query("SELECT to_regclass($1)::text", {verdict.sequence}).at(0, 0);
            if (!resolved || column.category != "N") {
                add_unknown(where + ": " + who + " draws from a sequence datafix cannot read");
                return;
            }
            v.sequence = *resolved;
            // A sequence the role cannot read (one a SECURITY DEFINER trigger draws from, owned
            // by another role): apply cannot ask it what it handed out, so any value passes.
            auto readable = connection_
                                .query(
                                    "SELECT has_sequence_privilege(to_regclass($1), "
                                    "'SELECT, USAGE')",
                                    {v.sequence})
                                .scalar();
            if (readable != "t") {
                v.volatility = VolatilityClass::random;
                v.cause += " (from " + v.sequence + ", which the role cannot read)";
                v.sequence.clear();
            }
        }
        auto& list = model_.tables[table.qualified];
        auto it = std::find_if(list.begin(), list.end(),
                               [&](const VolatileColumn& c) { return c.column == v.column; });
        if (it == list.end()) {
            list.push_back(std::move(v));
        } else if (it->volatility != v.volatility || it->sequence != v.sequence) {
            add_unknown(where + " gets values from " + it->cause + " and from " + v.cause);
        } else if (it->cause.find(v.cause) == std::string::npos) {
            it->cause += "; " + v.cause;
        }
    }

    void record_default(const TableReport& table, const ColumnFacts& column,
                        const std::string& who) {
        if (column.identity == "a" || column.identity == "d") {
            Verdict v;
            v.volatility = VolatilityClass::sequence;
            v.sequence = column.identity_sequence;
            v.detail = "identity";
            record(table, column, v, who);
            return;
        }
        if (column.default_expression.empty()) {
            return;
        }
        auto facts = sql::expression_facts(column.default_expression);
        if (!facts.parsed) {
            add_unknown(table.qualified + "." + column.name + ": its default cannot be read");
            return;
        }
        auto verdict = classify(facts.value);
        if (verdict.volatility || !verdict.unknown.empty()) {
            record(table, column, verdict, "default, for " + who);
        }
    }

    // Whether a table name as a body or rule spells it is `table`: resolved as the write
    // closure resolves it (resolve_table, through the session's search_path), once per name.
    bool names_table(const std::string& spelled, const TableReport& table) {
        auto it = resolved_.find(spelled);
        if (it == resolved_.end()) {
            auto dot = spelled.find('.');
            std::string schema = dot == std::string::npos ? "" : spelled.substr(0, dot);
            std::string name = dot == std::string::npos ? spelled : spelled.substr(dot + 1);
            auto id = resolve_table(connection_, schema, name);
            it = resolved_.emplace(spelled, id ? id->schema + "." + id->table : "").first;
        }
        return it->second == table.qualified;
    }

    void learn_write(const TableReport& table, const std::vector<ColumnFacts>& columns,
                     const sql::TableWrite& write, const std::string& who,
                     const std::string& trigger_table = "") {
        auto find = [&](const std::string& name) -> const ColumnFacts* {
            for (const auto& c : columns) {
                if (c.name == name) {
                    return &c;
                }
            }
            return nullptr;
        };
        std::vector<std::string> supplied;
        for (std::size_t i = 0; i < write.columns.size(); ++i) {
            const auto& w = write.columns[i];
            const ColumnFacts* column =
                write.positional ? (i < columns.size() ? &columns[i] : nullptr) : find(w.column);
            if (column == nullptr) {
                continue;  // a field of a composite, or a column PostgreSQL would refuse
            }
            supplied.push_back(column->name);
            if (w.value.default_value) {
                record_default(table, *column, who);
                continue;
            }
            record(table, *column, classify(w.value), who);
            if (!trigger_table.empty() && !w.value.new_fields.empty()) {
                deferred_.push_back(Deferred{&table, *column, w.value, trigger_table, who});
            }
        }
        if (write.command == "INSERT") {
            for (const auto& c : columns) {
                if (std::find(supplied.begin(), supplied.end(), c.name) == supplied.end()) {
                    record_default(table, c, who);
                }
            }
        }
    }

    void learn_table(const TableReport& table) {
        auto columns = columns_of(table);
        for (int index : table.statements) {
            for (const auto& s : plan_.statements) {
                if (s.index != index) {
                    continue;
                }
                auto writes = sql::statement_writes(s.text);
                if (!writes.parsed) {
                    add_unknown("statement " + std::to_string(index) + " cannot be read");
                }
                for (const auto& w : writes.writes) {
                    learn_write(table, columns, w, "statement " + std::to_string(index));
                }
            }
        }
        for (const auto& other : report_.tables) {
            for (const auto& t : other.triggers) {
                if (!t.fires) {
                    continue;
                }
                std::string who = "trigger " + t.name + " on " + other.qualified;
                if (t.body_unreadable) {
                    add_unknown(who + ": part of its body cannot be read");
                }
                for (const auto& w : t.table_writes) {
                    if (names_table(w.table, table)) {
                        learn_write(table, columns, w, who, other.qualified);
                    }
                }
            }
            for (const auto& r : other.rules) {
                if (!r.fires) {
                    continue;
                }
                for (const auto& w : r.table_writes) {
                    if (names_table(w.table, table)) {
                        learn_write(table, columns, w, "rule " + r.name + " on " + other.qualified);
                    }
                }
            }
            for (const auto& f : other.references) {
                bool sets_default = f.on_delete == ReferentialAction::set_default ||
                                    f.on_update == ReferentialAction::set_default;
                if (f.writes && sets_default && f.table == table.qualified) {
                    for (const auto& c : columns) {
                        record_default(table, c, "foreign key " + f.constraint);
                    }
                }
            }
        }
        // What a BEFORE ROW trigger of this table assigns to NEW, for every row written here.
        for (const auto& t : table.triggers) {
            if (!t.fires || t.timing != TriggerTiming::before || t.level != TriggerLevel::row) {
                continue;
            }
            for (const auto& assigned : t.new_values) {
                bool on_this_change =
                    assigned.only_on.empty() ||
                    std::any_of(assigned.only_on.begin(), assigned.only_on.end(),
                                [&](const std::string& e) {
                                    return std::find(table.commands.begin(), table.commands.end(),
                                                     e) != table.commands.end();
                                });
                if (!on_this_change) {
                    continue;  // e.g. created_at under IF TG_OP = 'INSERT', and nothing inserts
                }
                const ColumnFacts* column = nullptr;
                for (const auto& c : columns) {
                    if (c.name == assigned.field) {
                        column = &c;
                    }
                }
                if (column == nullptr) {
                    continue;
                }
                std::string who = "trigger " + t.name + " (NEW." + column->name + ")";
                if (!assigned.readable) {
                    add_unknown(table.qualified + "." + column->name + ": trigger " + t.name +
                                " assigns it an expression datafix cannot read");
                    continue;
                }
                record(table, *column, classify(assigned.value), who);
            }
        }
    }
};

}  // namespace

const std::vector<VolatileColumn>& VolatilityModel::of(const std::string& qualified) const {
    static const std::vector<VolatileColumn> none;
    auto it = tables.find(qualified);
    return it == tables.end() ? none : it->second;
}

VolatilityModel learn_volatility(Connection& connection, const PreflightReport& report,
                                 const ChangePlan& plan) {
    return Learner(connection, report, plan).run();
}

}  // namespace datafix::targetdb
