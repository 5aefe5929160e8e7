// Revert, in SQL built only from catalog names: temporary tables hold the images, so every value
// reaches the server through COPY, never through the statement text.
#include "targetdb/restore_step.hpp"

#include "core/error.hpp"
#include "targetdb/connection.hpp"
#include "targetdb/copy_text.hpp"
#include "targetdb/evidence_check.hpp"
#include "targetdb/statement_capture.hpp"
#include "targetdb/table_info.hpp"

namespace datafix::targetdb {

namespace {

constexpr std::size_t kListedConflicts = 20;

void load_image(Connection& connection, const ImageStore& images, const ImageFile& file,
                const std::string& temp_table) {
    ImageReader reader(images, file);
    connection.copy_in("COPY " + temp_table + " FROM STDIN",
                       [&](std::string& row) { return reader.next(row); });
}

}  // namespace

std::string key_in(const TableInfo& table, const std::string& temp, const std::string& alias) {
    return "EXISTS (SELECT 1 FROM " + temp + " x WHERE " + table.key_join("x", alias) + ")";
}

LoadedImages load_images(Connection& connection, const ImageStore& images,
                         const std::string& schema, const std::string& table,
                         const std::vector<std::string>& columns,
                         const std::vector<std::string>& key_columns, const ImageFile& before,
                         const ImageFile& after, const std::string& suffix) {
    LoadedImages loaded;
    loaded.table = load_table_info(connection, schema, table);
    if (loaded.table.columns != columns || loaded.table.key_columns != key_columns) {
        throw Error(ErrorCode::conflict,
                    "table " + schema + "." + table +
                        " has other columns than when the change was applied; cannot revert "
                        "from its images",
                    "restore these rows by a reviewed migration instead");
    }
    loaded.before_t = "datafix_before_" + suffix;
    loaded.after_t = "datafix_after_" + suffix;
    for (const auto& t : {loaded.before_t, loaded.after_t}) {
        connection.query("CREATE TEMPORARY TABLE " + t + " (LIKE " + loaded.table.qualified +
                         ") ON COMMIT DROP");
    }
    load_image(connection, images, before, loaded.before_t);
    load_image(connection, images, after, loaded.after_t);
    connection.query("ANALYZE " + loaded.before_t);
    connection.query("ANALYZE " + loaded.after_t);
    return loaded;
}

Conflicts find_conflicts(Connection& connection, const LoadedImages& loaded, std::size_t limit) {
    const auto& table = loaded.table;
    std::string first_key = table.quoted_columns[table.key_positions[0]];
    std::string conflict_sql =
        "SELECT " + table.key_list("a") + " FROM " + loaded.after_t + " a LEFT JOIN " +
        table.qualified + " c ON " + table.key_join("c", "a") + " WHERE c." + first_key +
        " IS NULL OR c::text IS DISTINCT FROM a::text UNION ALL SELECT " + table.key_list("b") +
        " FROM " + loaded.before_t + " b JOIN " + table.qualified + " c ON " +
        table.key_join("c", "b") + " WHERE NOT " + key_in(table, loaded.after_t, "b");
    Conflicts out;
    out.count =
        std::stoll(connection.query("SELECT count(*) FROM (" + conflict_sql + ") x").scalar());
    if (out.count > 0 && limit > 0) {
        auto listed = connection.query(conflict_sql + " LIMIT " + std::to_string(limit));
        for (const auto& row : listed.rows) {
            std::string names;
            std::string values;
            for (std::size_t i = 0; i < row.size(); ++i) {
                names += (i > 0 ? ", " : "") + table.key_columns[i];
                values += (i > 0 ? ", " : "") + row[i].value_or("NULL");
            }
            out.listed.push_back(table.schema + "." + table.table + " (" + names + ")=(" + values +
                                 ")");
        }
    }
    return out;
}

RestoreResult restore_statement(Connection& connection, ImageStore& images,
                                const StatementEvidence& applied, bool restore) {
    std::string n = std::to_string(applied.index);
    auto loaded = load_images(connection, images, applied.schema, applied.table, applied.columns,
                              applied.key_columns, applied.before, applied.after, n);
    const auto& table = loaded.table;
    const auto& before_t = loaded.before_t;
    const auto& after_t = loaded.after_t;

    RestoreResult result;
    auto& ev = result.evidence;
    ev.index = applied.index;
    ev.kind = applied.kind;
    ev.schema = applied.schema;
    ev.table = applied.table;
    ev.columns = table.columns;
    ev.key_columns = table.key_columns;
    ev.indirect_writes = table.indirect_writes;

    std::string keys_c = table.key_list("c");
    std::string in_after_b = key_in(table, after_t, "b");
    std::string in_before_a = key_in(table, before_t, "a");
    auto conflicts = find_conflicts(connection, loaded, kListedConflicts);
    result.conflict_count = conflicts.count;
    result.conflicts = std::move(conflicts.listed);

    std::string label = "r" + n;
    ev.before = copy_to_image(connection, images, table,
                              "COPY (SELECT c.* FROM " + table.qualified + " c JOIN (SELECT " +
                                  table.key_list() + " FROM " + before_t + " UNION SELECT " +
                                  table.key_list() + " FROM " + after_t + ") k ON " +
                                  table.key_join("c", "k") + " ORDER BY " + keys_c + ") TO STDOUT",
                              label + "-before", nullptr);
    if (!restore) {
        ImageWriter empty(images, label + "-after");
        ev.after = empty.finish();
        return result;
    }
    long long removed =
        connection
            .query("DELETE FROM " + table.qualified + " c USING " + after_t + " a WHERE " +
                   table.key_join("c", "a") + " AND NOT " + in_before_a)
            .affected;
    long long restored = 0;
    std::string updatable = table.updatable_list();
    // A table of nothing but key columns has nothing to put back in rows that still exist.
    std::string restore_sql =
        updatable.empty() ? "SELECT c.* FROM " + table.qualified + " c JOIN " + before_t +
                                " b ON " + table.key_join("c", "b") + " WHERE " + in_after_b
                          : "UPDATE " + table.qualified + " c SET (" + updatable + ") = ROW(" +
                                table.updatable_list("b") + ") FROM " + before_t + " b WHERE " +
                                table.key_join("c", "b") + " AND " + in_after_b + " RETURNING c.*";
    ev.after = copy_to_image(
        connection, images, table,
        "COPY (WITH restored AS (" + restore_sql + "), " + "reinserted AS (INSERT INTO " +
            table.qualified + " (" + table.writable_list() + ") OVERRIDING SYSTEM VALUE SELECT " +
            table.writable_list("b") + " FROM " + before_t + " b WHERE NOT " + in_after_b +
            " RETURNING *) " +
            "SELECT * FROM (SELECT * FROM restored UNION ALL SELECT * FROM reinserted) c "
            "ORDER BY " +
            keys_c + ") TO STDOUT",
        label + "-after", &restored);
    ev.actual_rows = removed + restored;
    return result;
}

}  // namespace datafix::targetdb
