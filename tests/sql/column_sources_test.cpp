// What statements and expressions put into columns: the facts volatility is learned from.
#include <gtest/gtest.h>

#include "sql/column_sources.hpp"
#include "sql/function_body.hpp"

namespace datafix::sql {
namespace {

const ColumnWrite* column(const TableWrite& w, const std::string& name) {
    for (const auto& c : w.columns) {
        if (c.column == name) {
            return &c;
        }
    }
    return nullptr;
}

TEST(ColumnSources, InsertValuesNameEachColumnsCallsAndDefaults) {
    auto s = statement_writes(
        "INSERT INTO app.t (a, b, c, d) VALUES (now(), DEFAULT, 'x', nextval('app.s'::regclass)), "
        "(CURRENT_TIMESTAMP, DEFAULT, upper('y'), nextval('app.s'))");
    ASSERT_TRUE(s.parsed);
    ASSERT_EQ(s.writes.size(), 1u);
    const auto& w = s.writes[0];
    EXPECT_EQ(w.table, "app.t");
    EXPECT_EQ(w.command, "INSERT");
    EXPECT_FALSE(w.positional);
    ASSERT_NE(column(w, "a"), nullptr);
    EXPECT_EQ(column(w, "a")->value.calls.at(0).name, "now");
    EXPECT_EQ(column(w, "a")->value.clock_keywords, std::vector<std::string>{"CURRENT_TIMESTAMP"});
    EXPECT_TRUE(column(w, "b")->value.default_value);
    EXPECT_EQ(column(w, "c")->value.calls.at(0).name, "upper");
    EXPECT_EQ(column(w, "d")->value.sequences, std::vector<std::string>{"app.s"});
}

TEST(ColumnSources, InsertSelectAndPositionalInsert) {
    auto s = statement_writes("INSERT INTO t SELECT id, clock_timestamp() FROM u WHERE now() > x");
    ASSERT_EQ(s.writes.size(), 1u);
    EXPECT_TRUE(s.writes[0].positional);
    ASSERT_EQ(s.writes[0].columns.size(), 2u);
    EXPECT_TRUE(s.writes[0].columns[0].value.calls.empty())
        << "the WHERE's now() decides which rows, not what goes into them";
    EXPECT_EQ(s.writes[0].columns[1].value.calls.at(0).name, "clock_timestamp");
    auto d = statement_writes("INSERT INTO t DEFAULT VALUES");
    EXPECT_TRUE(d.writes.at(0).default_values);
}

TEST(ColumnSources, UpdateMultiAssignmentMergeAndOnConflict) {
    auto u = statement_writes("UPDATE t SET a = 1, (b, c) = (SELECT random(), 2), d = DEFAULT");
    ASSERT_EQ(u.writes.size(), 1u);
    EXPECT_TRUE(column(u.writes[0], "a")->value.calls.empty());
    EXPECT_EQ(column(u.writes[0], "b")->value.calls.at(0).name, "random");
    EXPECT_TRUE(column(u.writes[0], "c")->value.calls.empty());
    EXPECT_TRUE(column(u.writes[0], "d")->value.default_value);

    auto m = statement_writes(
        "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET x = now() "
        "WHEN NOT MATCHED THEN INSERT (id, x) VALUES (s.id, DEFAULT)");
    ASSERT_EQ(m.writes.size(), 2u);
    EXPECT_EQ(m.writes[0].command, "UPDATE");
    EXPECT_EQ(column(m.writes[0], "x")->value.calls.at(0).name, "now");
    EXPECT_EQ(m.writes[1].command, "INSERT");
    EXPECT_TRUE(column(m.writes[1], "x")->value.default_value);

    auto c = statement_writes(
        "INSERT INTO t (id, n) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET seen = now()");
    ASSERT_EQ(c.writes.size(), 2u);
    EXPECT_EQ(c.writes[1].command, "UPDATE");
    EXPECT_EQ(column(c.writes[1], "seen")->value.calls.at(0).name, "now");
}

TEST(ColumnSources, ExpressionsAndUnparsableText) {
    auto e = expression_facts("nextval('app.seq'::regclass)");
    ASSERT_TRUE(e.parsed);
    EXPECT_EQ(e.value.sequences, std::vector<std::string>{"app.seq"});
    EXPECT_FALSE(expression_facts("now(").parsed);
    EXPECT_FALSE(statement_writes("UPDATE SET").parsed);
}

TEST(ColumnSources, TriggerBodiesTellWhatTheyAssignAndWrite) {
    auto f = inspect_plpgsql_body(
        "BEGIN\n"
        "  NEW.updated_at := now();\n"
        "  NEW.updated_by := current_setting('jwt.claims.sub', true);\n"
        "  INSERT INTO app.log (at, row_data, copied) VALUES (clock_timestamp(), to_jsonb(NEW), "
        "NEW.updated_at);\n"
        "  UPDATE app.t SET archived_at = now() WHERE id <> NEW.id;\n"
        "  RETURN NEW;\n"
        "END");
    ASSERT_EQ(f.new_values.size(), 2u);
    EXPECT_EQ(f.new_values[0].field, "updated_at");
    EXPECT_EQ(f.new_values[0].value.calls.at(0).name, "now");
    EXPECT_EQ(f.new_values[1].value.calls.at(0).name, "current_setting");
    ASSERT_EQ(f.table_writes.size(), 2u);
    EXPECT_EQ(f.table_writes[0].table, "app.log");
    EXPECT_EQ(column(f.table_writes[0], "row_data")->value.new_fields,
              std::vector<std::string>{"*"});
    EXPECT_EQ(column(f.table_writes[0], "copied")->value.new_fields,
              std::vector<std::string>{"updated_at"});
    EXPECT_EQ(f.table_writes[1].command, "UPDATE");
    EXPECT_EQ(column(f.table_writes[1], "archived_at")->value.calls.at(0).name, "now");
}

TEST(ColumnSources, AssignmentsUnderTgOpConditionsNameTheirEvents) {
    auto f = inspect_plpgsql_body(
        "BEGIN\n"
        "  IF TG_OP = 'INSERT' THEN NEW.created_at := now(); END IF;\n"
        "  IF tg_op IN ('INSERT', 'UPDATE') THEN NEW.touched_at := now(); END IF;\n"
        "  IF NEW.archived_at IS NOT NULL THEN NEW.archived_by := 1; END IF;\n"
        "  NEW.updated_at := now();\n"
        "  RETURN NEW;\n"
        "END");
    ASSERT_EQ(f.new_values.size(), 4u);
    EXPECT_EQ(f.new_values[0].field, "created_at");
    EXPECT_EQ(f.new_values[0].only_on, std::vector<std::string>{"INSERT"});
    EXPECT_EQ(f.new_values[1].only_on, (std::vector<std::string>{"INSERT", "UPDATE"}));
    EXPECT_TRUE(f.new_values[2].only_on.empty()) << "another condition restricts nothing known";
    EXPECT_TRUE(f.new_values[3].only_on.empty());
}

}  // namespace
}  // namespace datafix::sql
