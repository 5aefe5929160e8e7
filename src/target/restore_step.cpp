// Revert, in SQL built only from catalog names: temporary tables hold the images, so every value
// reaches the server through COPY, never through the statement text.
#include "target/restore_step.hpp"

#include "core/error.hpp"
#include "target/connection.hpp"
#include "target/copy_text.hpp"
#include "target/evidence_check.hpp"
#include "target/statement_capture.hpp"
#include "target/table_info.hpp"

namespace datafix::target {

namespace {

constexpr long long kListedConflicts = 20;

void load_image(Connection& connection, const ImageStore& images, const ImageFile& file,
                const std::string& temp_table) {
    ImageReader reader(images, file);
    connection.copy_in("COPY " + temp_table + " FROM STDIN",
                       [&](std::string& row) { return reader.next(row); });
}

}  // namespace

RestoreResult restore_statement(Connection& connection, ImageStore& images,
                                const StatementEvidence& applied, bool restore) {
    auto table = load_table_info(connection, applied.schema, applied.table);
    if (table.columns != applied.columns || table.key_columns != applied.key_columns) {
        throw Error(ErrorCode::conflict,
                    "table " + applied.schema + "." + applied.table +
                        " has other columns than when the change was applied; cannot revert "
                        "from its images",
                    "restore these rows by a reviewed migration instead");
    }
    std::string n = std::to_string(applied.index);
    std::string before_t = "datafix_before_" + n;
    std::string after_t = "datafix_after_" + n;
    for (const auto& t : {before_t, after_t}) {
        connection.query("CREATE TEMPORARY TABLE " + t + " (LIKE " + table.qualified +
                         ") ON COMMIT DROP");
    }
    load_image(connection, images, applied.before, before_t);
    load_image(connection, images, applied.after, after_t);
    connection.query("ANALYZE " + before_t);
    connection.query("ANALYZE " + after_t);

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
    std::string in_after_b =
        "EXISTS (SELECT 1 FROM " + after_t + " a WHERE " + table.key_join("a", "b") + ")";
    std::string in_before_a =
        "EXISTS (SELECT 1 FROM " + before_t + " b WHERE " + table.key_join("a", "b") + ")";
    std::string first_key = table.quoted_columns[table.key_positions[0]];
    std::string conflict_sql =
        "SELECT " + table.key_list("a") + " FROM " + after_t + " a LEFT JOIN " + table.qualified +
        " c ON " + table.key_join("c", "a") + " WHERE c." + first_key +
        " IS NULL OR c::text IS DISTINCT FROM a::text "
        "UNION ALL SELECT " +
        table.key_list("b") + " FROM " + before_t + " b JOIN " + table.qualified + " c ON " +
        table.key_join("c", "b") + " WHERE NOT " + in_after_b;
    auto count = connection.query("SELECT count(*) FROM (" + conflict_sql + ") x").scalar();
    result.conflict_count = std::stoll(count);
    if (result.conflict_count > 0) {
        auto listed = connection.query(conflict_sql + " LIMIT " + std::to_string(kListedConflicts));
        for (const auto& row : listed.rows) {
            std::string names;
            std::string values;
            for (std::size_t i = 0; i < row.size(); ++i) {
                names += (i > 0 ? ", " : "") + table.key_columns[i];
                values += (i > 0 ? ", " : "") + row[i].value_or("NULL");
            }
            result.conflicts.push_back(applied.schema + "." + applied.table + " (" + names + ")=(" +
                                       values + ")");
        }
    }

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

}  // namespace datafix::target
