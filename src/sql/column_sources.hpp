// What a statement puts into each column it writes, as far as its parse tree tells: the calls in
// the expression that fills the column. The target layer turns these facts into the causes of an
// after-image column's volatility (target/volatility.hpp): a clock, a sequence, a random source.
// Read from libpg_query's tree, for change statements and for the statements inside trigger
// bodies alike.
#pragma once

#include <string>
#include <vector>

#include "sql/analysis.hpp"

namespace datafix::sql {

// The calls in one expression, subqueries included.
struct ValueFacts {
    std::vector<FunctionCall> calls;
    // CURRENT_TIMESTAMP, CURRENT_DATE, LOCALTIMESTAMP, ...: clock readings without parentheses.
    std::vector<std::string> clock_keywords;
    // The first argument of nextval() where it is written as a literal ('app.seq' or
    // 'app.seq'::regclass): the sequence the value comes from.
    std::vector<std::string> sequences;
    bool default_value = false;  // DEFAULT: the column's default fills it
    // Fields of a trigger's NEW record the value copies ("*" for the whole record, as in
    // to_jsonb(NEW)): a column of NEW that varies makes this value vary too.
    std::vector<std::string> new_fields;
    bool operator==(const ValueFacts&) const = default;
};

struct ColumnWrite {
    std::string column;  // as written; empty for an INSERT without a column list
    ValueFacts value;
    bool operator==(const ColumnWrite&) const = default;
};

// One INSERT or UPDATE (or one action of a MERGE, or an ON CONFLICT DO UPDATE) and what it puts
// into each column it names.
struct TableWrite {
    std::string table;    // as written
    std::string command;  // "INSERT" or "UPDATE"
    // An INSERT without a column list fills the table's first columns in order: `columns` then
    // carries no names, one entry per position.
    bool positional = false;
    bool default_values = false;  // INSERT ... DEFAULT VALUES
    std::vector<ColumnWrite> columns;
    bool operator==(const TableWrite&) const = default;
};

struct StatementWrites {
    bool parsed = false;  // false: the text did not parse, nothing is known
    std::vector<TableWrite> writes;
};

// Every INSERT and UPDATE in `text` (one or more statements), with their column values.
StatementWrites statement_writes(const std::string& text);

// The calls in one SQL expression (parsed as "SELECT <expression>"); `parsed` false when it does
// not parse.
struct ExpressionFacts {
    bool parsed = false;
    ValueFacts value;
};
ExpressionFacts expression_facts(const std::string& expression);

}  // namespace datafix::sql
