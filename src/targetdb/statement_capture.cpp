// Capture SQL is built around the statement's own text, never around captured values:
//   before: COPY (SELECT DISTINCT ON (key) s.* FROM (<before_select>) s ORDER BY key) TO STDOUT
//           (DISTINCT because a FROM/USING join may match a target row more than once)
//   after:  COPY (WITH datafix_changed AS (<statement RETURNING alias.*>)
//                 SELECT * FROM datafix_changed ORDER BY key) TO STDOUT
// A DELETE has no after-images: its RETURNING form gives its before-images, the rows it removed,
// in the same pass (no separate SELECT). As for an UPDATE, row security then applies the table's
// SELECT policies to the rows it deletes. On a table with DELETE rules (which PostgreSQL refuses
// in a data-modifying WITH) the before-images are selected first and the DELETE runs as written.
// The before SELECT of the change's first statement runs on a second session in the run's
// snapshot, beside the statement (SharedSnapshot): it sees the rows as the statement finds them,
// and the statement's cost is no longer paid after it. A later statement's before SELECT runs in
// the run's transaction, which alone sees what the earlier statements wrote.
// COPY of a data-modifying CTE executes the statement exactly once, and the COPY row count is
// the statement's row count. MERGE has no RETURNING in PostgreSQL 15: it runs as written and its
// after-images are the target rows whose xmin is this transaction (exact when the MERGE is the
// only statement of the change writing that table).
#include "targetdb/statement_capture.hpp"

#include <exception>
#include <future>

#include "core/error.hpp"
#include "targetdb/connection.hpp"
#include "targetdb/copy_text.hpp"

namespace datafix::targetdb {

namespace {

std::string strip_terminator(std::string text) {
    while (!text.empty() &&
           (text.back() == ';' || std::isspace(static_cast<unsigned char>(text.back())))) {
        text.pop_back();
    }
    return text;
}

ImageFile empty_image(ImageStore& images, const std::string& label) {
    ImageWriter writer(images, label);
    return writer.finish();
}

// PostgreSQL refuses a data-modifying WITH on a table with DO ALSO or conditional DO INSTEAD
// rules for its command: such a DELETE keeps its SELECT of the before-images and runs as written.
bool has_delete_rules(Connection& connection, const TableInfo& table) {
    return connection
               .query(
                   "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_rewrite r "
                   "WHERE r.ev_class = $1::regclass AND r.ev_type = '4')",
                   {table.qualified})
               .scalar() == "t";
}

// The statement with RETURNING, its rows read in key order: a DELETE's before-images, an
// INSERT's or UPDATE's after-images (`images` names which, for the error).
std::string returning_copy(const PlannedStatement& statement, const std::string& keys,
                           const std::string& images) {
    if (statement.capture.with_returning.empty()) {
        throw Error(ErrorCode::internal, "statement " + std::to_string(statement.index) +
                                             " has no RETURNING form for its " + images);
    }
    return "COPY (WITH datafix_changed AS (" + strip_terminator(statement.capture.with_returning) +
           ") SELECT * FROM datafix_changed s ORDER BY " + keys + ") TO STDOUT";
}

}  // namespace

ImageFile copy_to_image(Connection& connection, ImageStore& images, const TableInfo& table,
                        const std::string& sql, const std::string& label, long long* count,
                        const std::vector<VolatileColumn>& volatility) {
    ImageWriter writer(images, label, table.key_positions);
    writer.mask(table.columns, table.key_columns, volatility);
    long long n = connection.copy_out(sql, [&](std::string_view row) { writer.add(row); });
    if (count != nullptr) {
        *count = n;
    }
    return writer.finish();
}

StatementEvidence execute_with_capture(Connection& connection, ImageStore& images,
                                       const PlannedStatement& statement, const TableInfo& table,
                                       const std::vector<VolatileColumn>& volatility,
                                       Connection* observer) {
    StatementEvidence ev;
    ev.index = statement.index;
    ev.kind = statement.kind;
    ev.schema = table.schema;
    ev.table = table.table;
    ev.columns = table.columns;
    ev.key_columns = table.key_columns;
    ev.expected_rows = statement.expected_rows;
    ev.indirect_writes = table.indirect_writes;
    std::string label = "s" + std::to_string(statement.index);
    // The closure's order (TableInfo::key_order), so a table one statement writes alone can take
    // its images as they are (closure_capture.hpp).
    std::string keys = table.key_order("s");

    if (statement.kind == StatementKind::delete_ && !has_delete_rules(connection, table)) {
        // The rows a DELETE removes are its before-images: RETURNING hands them back from the
        // same pass, so they are read once, and the COPY's row count is the statement's.
        ev.before = copy_to_image(connection, images, table,
                                  returning_copy(statement, keys, "before-images"),
                                  label + "-before", &ev.actual_rows);
        ev.after = empty_image(images, label + "-after");
        return ev;
    }
    // The statement itself, once its before-images are taken or being taken.
    auto run_statement = [&] {
        if (statement.kind == StatementKind::delete_) {
            // With rules: the rows selected are its before-images.
            ev.actual_rows = connection.query(strip_terminator(statement.text)).affected;
            ev.after = empty_image(images, label + "-after");
        } else if (statement.kind == StatementKind::merge) {
            ev.actual_rows = connection.query(strip_terminator(statement.text)).affected;
            ev.after = copy_to_image(connection, images, table,
                                     "COPY (SELECT s.* FROM " + table.qualified +
                                         " s WHERE s.xmin = pg_current_xact_id()::xid ORDER BY " +
                                         keys + ") TO STDOUT",
                                     label + "-after", nullptr, volatility);
        } else {
            ev.after = copy_to_image(connection, images, table,
                                     returning_copy(statement, keys, "after-images"),
                                     label + "-after", &ev.actual_rows, volatility);
        }
    };
    if (statement.kind == StatementKind::insert) {
        ev.before = empty_image(images, label + "-before");
        run_statement();
        return ev;
    }
    if (statement.capture.before_select.empty()) {
        throw Error(ErrorCode::internal, "statement " + std::to_string(statement.index) +
                                             " has no capture plan for its before-images");
    }
    std::string before_copy = "COPY (SELECT DISTINCT ON (" + keys + ") s.* FROM (" +
                              strip_terminator(statement.capture.before_select) + ") s ORDER BY " +
                              keys + ") TO STDOUT";
    if (observer == nullptr) {
        ev.before =
            copy_to_image(connection, images, table, before_copy, label + "-before", nullptr);
        run_statement();
        return ev;
    }
    // The observer reads the before-images on its own backend, in the run's snapshot, while the
    // run's backend executes the statement: the rows as the statement finds them, since nothing
    // in this transaction wrote before it. The writer is created here: the image store is not
    // shared between threads.
    SharedSnapshot shared(connection, *observer);
    ImageWriter before_writer(images, label + "-before", table.key_positions);
    auto before = std::async(std::launch::async, [&] {
        observer->copy_out(before_copy,
                           [&before_writer](std::string_view row) { before_writer.add(row); });
        return before_writer.finish();
    });
    std::exception_ptr failed;
    try {
        run_statement();
    } catch (...) {
        failed = std::current_exception();
    }
    // The observer's thread ends before anything else uses it (or the writer); the statement's
    // own error, when it failed, is the one that matters.
    try {
        ev.before = before.get();
    } catch (...) {
        if (!failed) {
            failed = std::current_exception();
        }
    }
    if (failed) {
        std::rethrow_exception(failed);
    }
    shared.finish();
    return ev;
}

}  // namespace datafix::targetdb
