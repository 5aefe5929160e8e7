// Catalog lookups for capture: columns, the identifying key, triggers and cascading foreign keys.
#include "targetdb/table_info.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "targetdb/connection.hpp"

namespace datafix::targetdb {

namespace {

constexpr const char* kColumnsSql = R"(
SELECT a.attname, a.attgenerated <> '', a.attidentity = 'a',
       a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)
FROM pg_attribute a
WHERE a.attrelid = format('%I.%I', $1::text, $2::text)::regclass
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum)";

// The primary key, else the narrowest unique, immediate, non-partial index on plain not-null
// columns.
constexpr const char* kKeySql = R"(
WITH candidate AS (
  SELECT i.indexrelid, i.indkey, i.indisprimary, i.indnatts
  FROM pg_index i
  WHERE i.indrelid = format('%I.%I', $1::text, $2::text)::regclass
    AND i.indisunique AND i.indisvalid AND i.indimmediate
    AND i.indpred IS NULL AND i.indexprs IS NULL
    AND NOT EXISTS (
      SELECT 1 FROM unnest(i.indkey::int2[]) k(attnum)
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE NOT a.attnotnull)
  ORDER BY i.indisprimary DESC, i.indnatts, i.indexrelid
  LIMIT 1)
SELECT a.attname
FROM candidate c, unnest(c.indkey::int2[]) WITH ORDINALITY k(attnum, n)
JOIN pg_attribute a ON a.attrelid = format('%I.%I', $1::text, $2::text)::regclass
  AND a.attnum = k.attnum
ORDER BY k.n)";

constexpr const char* kIndirectSql = R"(
SELECT format('trigger %s on %s runs %s', t.tgname, t.tgrelid::regclass, t.tgfoid::regprocedure)
FROM pg_trigger t
WHERE t.tgrelid = format('%I.%I', $1::text, $2::text)::regclass
  AND NOT t.tgisinternal AND t.tgenabled <> 'D'
UNION ALL
SELECT format('foreign key %s on %s: %s', c.conname, c.conrelid::regclass,
              concat_ws(', ',
                CASE c.confdeltype WHEN 'c' THEN 'ON DELETE CASCADE'
                                   WHEN 'n' THEN 'ON DELETE SET NULL'
                                   WHEN 'd' THEN 'ON DELETE SET DEFAULT' END,
                CASE c.confupdtype WHEN 'c' THEN 'ON UPDATE CASCADE'
                                   WHEN 'n' THEN 'ON UPDATE SET NULL'
                                   WHEN 'd' THEN 'ON UPDATE SET DEFAULT' END))
FROM pg_constraint c
WHERE c.contype = 'f'
  AND c.confrelid = format('%I.%I', $1::text, $2::text)::regclass
  AND (c.confdeltype IN ('c', 'n', 'd') OR c.confupdtype IN ('c', 'n', 'd'))
ORDER BY 1)";

std::string join(const std::vector<std::string>& parts, const std::string& prefix,
                 const std::string& separator) {
    std::string out;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i > 0) {
            out += separator;
        }
        out += prefix + parts[i];
    }
    return out;
}

}  // namespace

std::string TableInfo::key_list(const std::string& prefix) const {
    std::vector<std::string> quoted;
    for (auto pos : key_positions) {
        quoted.push_back(quoted_columns[pos]);
    }
    return join(quoted, prefix.empty() ? "" : prefix + ".", ", ");
}

bool TableInfo::integer_key() const {
    return std::all_of(key_positions.begin(), key_positions.end(),
                       [this](std::size_t pos) { return integer[pos]; });
}

std::string TableInfo::key_order(const std::string& alias) const {
    std::string out;
    for (auto pos : key_positions) {
        out += (out.empty() ? "" : ", ") + alias + "." + quoted_columns[pos] +
               (integer_key() ? "" : "::text COLLATE \"C\"");
    }
    return out;
}

std::string TableInfo::key_join(const std::string& left, const std::string& right) const {
    std::string out;
    for (std::size_t i = 0; i < key_positions.size(); ++i) {
        if (i > 0) {
            out += " AND ";
        }
        const auto& c = quoted_columns[key_positions[i]];
        out += left + "." + c + " = " + right + "." + c;
    }
    return out;
}

std::string TableInfo::writable_list(const std::string& prefix) const {
    std::vector<std::string> quoted;
    for (std::size_t i = 0; i < columns.size(); ++i) {
        if (!generated[i]) {
            quoted.push_back(quoted_columns[i]);
        }
    }
    return join(quoted, prefix.empty() ? "" : prefix + ".", ", ");
}

std::string TableInfo::updatable_list(const std::string& prefix) const {
    std::vector<std::string> quoted;
    for (std::size_t i = 0; i < columns.size(); ++i) {
        bool is_key =
            std::find(key_positions.begin(), key_positions.end(), i) != key_positions.end();
        if (!generated[i] && !identity_always[i] && !is_key) {
            quoted.push_back(quoted_columns[i]);
        }
    }
    return join(quoted, prefix.empty() ? "" : prefix + ".", ", ");
}

TableInfo load_table_info(Connection& connection, const std::string& schema_as_written,
                          const std::string& table) {
    std::string schema = schema_as_written;
    if (schema.empty()) {
        // Unqualified in the statement: the session's search_path decides, as it will for the
        // statement itself.
        auto found = connection.query(
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.oid = to_regclass(quote_ident($1))",
            {table});
        if (found.rows.empty()) {
            throw Error(ErrorCode::database, "table " + table + " does not exist",
                        "qualify the table with its schema");
        }
        schema = found.scalar();
    }
    TableInfo info;
    info.schema = schema;
    info.table = table;
    info.qualified = connection.quote_identifier(schema) + "." + connection.quote_identifier(table);
    auto columns = connection.query(kColumnsSql, {schema, table});
    for (const auto& row : columns.rows) {
        info.columns.push_back(row[0].value_or(""));
        info.quoted_columns.push_back(connection.quote_identifier(row[0].value_or("")));
        info.generated.push_back(row[1].value_or("f") == "t");
        info.identity_always.push_back(row[2].value_or("f") == "t");
        info.integer.push_back(row[3].value_or("f") == "t");
    }
    auto key = connection.query(kKeySql, {schema, table});
    if (key.rows.empty()) {
        throw Error(ErrorCode::target_refused,
                    "table " + schema + "." + table +
                        " has no primary key and no unique not-null key, so its rows cannot be "
                        "identified for evidence or revert",
                    "add a primary key to the table through a migration, or change it through a "
                    "migration instead of datafix");
    }
    for (const auto& row : key.rows) {
        auto name = row[0].value_or("");
        info.key_columns.push_back(name);
        for (std::size_t i = 0; i < info.columns.size(); ++i) {
            if (info.columns[i] == name) {
                info.key_positions.push_back(i);
            }
        }
    }
    auto indirect = connection.query(kIndirectSql, {schema, table});
    for (const auto& row : indirect.rows) {
        info.indirect_writes.push_back(row[0].value_or(""));
    }
    return info;
}

}  // namespace datafix::targetdb
