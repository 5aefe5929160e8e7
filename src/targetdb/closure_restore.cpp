// Revert of a write closure and the comparison that proves it (see closure_restore.hpp).
#include "targetdb/closure_restore.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <ranges>
#include <set>

#include "core/error.hpp"
#include "targetdb/closure_capture.hpp"
#include "targetdb/connection.hpp"
#include "targetdb/copy_text.hpp"
#include "targetdb/evidence_check.hpp"
#include "targetdb/restore_step.hpp"
#include "targetdb/statement_capture.hpp"
#include "targetdb/table_info.hpp"

namespace datafix::targetdb {

namespace {

constexpr std::size_t kListedPerTable = 5;
constexpr std::size_t kListed = 20;

struct Loaded {
    LoadedImages images;  // .table, .before_t, .after_t
    std::string oid;
};

// The temporary tables of closure table k (restore_closure loads them, the proof reads them).
std::string temp_suffix(std::size_t k) {
    return "c" + std::to_string(k + 1);
}

std::vector<std::size_t> positions_of(const TableChanges& c) {
    return key_positions(c.columns, c.key_columns);
}

// Parents before children among the loaded tables (self-references ignored; a cycle keeps the
// remaining tables in closure order).
std::vector<std::size_t> parents_first(Connection& connection, const std::vector<Loaded>& tables) {
    std::string oids;
    for (const auto& t : tables) {
        oids += (oids.empty() ? "" : ",") + t.oid;
    }
    auto edges = connection.query(
        "SELECT conrelid::text, confrelid::text FROM pg_constraint "
        "WHERE contype = 'f' AND conrelid <> confrelid "
        "AND conrelid = ANY (string_to_array($1, ',')::oid[]) "
        "AND confrelid = ANY (string_to_array($1, ',')::oid[])",
        {oids});
    std::map<std::string, std::set<std::string>> parents;
    for (const auto& row : edges.rows) {
        parents[row[0].value_or("")].insert(row[1].value_or(""));
    }
    std::vector<std::size_t> order;
    std::set<std::string> placed;
    while (order.size() < tables.size()) {
        bool progressed = false;
        for (std::size_t i = 0; i < tables.size(); ++i) {
            if (placed.count(tables[i].oid) != 0) {
                continue;
            }
            bool ready = true;
            for (const auto& p : parents[tables[i].oid]) {
                bool is_loaded = std::any_of(tables.begin(), tables.end(),
                                             [&](const Loaded& t) { return t.oid == p; });
                if (is_loaded && placed.count(p) == 0) {
                    ready = false;
                }
            }
            if (ready) {
                order.push_back(i);
                placed.insert(tables[i].oid);
                progressed = true;
            }
        }
        if (!progressed) {
            for (std::size_t i = 0; i < tables.size(); ++i) {
                if (placed.insert(tables[i].oid).second) {
                    order.push_back(i);
                }
            }
        }
    }
    return order;
}

// Names the columns in which two rows of the same key differ.
std::vector<std::string> differing_columns(const TableChanges& c, std::string_view a,
                                           std::string_view b) {
    auto fa = split_copy_fields(a);
    auto fb = split_copy_fields(b);
    std::vector<std::string> out;
    for (std::size_t i = 0; i < c.columns.size() && i < fa.size() && i < fb.size(); ++i) {
        if (fa[i] != fb[i]) {
            out.push_back(c.columns[i]);
        }
    }
    return out;
}

// Rows at the change's keys that are not their before-image, by key and column.
std::vector<std::string> describe_differences(const ImageStore& images, const TableChanges& c,
                                              const ImageFile& now, bool numeric) {
    auto positions = positions_of(c);
    std::vector<std::string> out;
    ImageReader before(images, c.before);
    ImageReader current(images, now);
    std::string b;
    std::string n;
    bool has_b = before.next(b);
    bool has_n = current.next(n);
    while ((has_b || has_n) && out.size() < kListedPerTable) {
        int order = !has_n ? -1 : !has_b ? 1 : compare_keys(positions, b, n, numeric);
        if (order < 0) {
            out.push_back(c.qualified() + " " + describe_key(c.key_columns, positions, b) +
                          " is missing");
            has_b = before.next(b);
        } else if (order > 0) {
            out.push_back(c.qualified() + " " + describe_key(c.key_columns, positions, n) +
                          " exists, but did not before the change");
            has_n = current.next(n);
        } else {
            auto columns = differing_columns(c, b, n);
            if (!columns.empty()) {
                std::string names;
                for (const auto& col : columns) {
                    names += (names.empty() ? "" : ", ") + col;
                }
                out.push_back(c.qualified() + " " + describe_key(c.key_columns, positions, b) +
                              " differs in " + names);
            }
            has_b = before.next(b);
            has_n = current.next(n);
        }
    }
    return out;
}

}  // namespace

ClosureRestore restore_closure(Connection& connection, ImageStore& images,
                               const std::vector<TableChanges>& applied, bool restore,
                               bool without_triggers) {
    std::vector<Loaded> tables;
    for (std::size_t k = 0; k < applied.size(); ++k) {
        const auto& c = applied[k];
        if (c.append_only) {
            continue;
        }
        Loaded t;
        t.images = load_images(connection, images, c.schema, c.table, c.columns, c.key_columns,
                               c.before, c.after, temp_suffix(k));
        t.oid =
            connection.query("SELECT $1::regclass::oid::text", {t.images.table.qualified}).scalar();
        tables.push_back(std::move(t));
    }

    ClosureRestore result;
    for (const auto& t : tables) {
        std::size_t room = result.conflicts.size() < kListed ? kListedPerTable : 0;
        auto conflicts = find_conflicts(connection, t.images, room);
        result.conflict_count += conflicts.count;
        result.conflicts.insert(result.conflicts.end(), conflicts.listed.begin(),
                                conflicts.listed.end());
    }
    if (!restore || tables.empty()) {
        return result;
    }

    if (without_triggers) {
        try {
            connection.query("SET LOCAL session_replication_role = replica");
        } catch (const Error& e) {
            throw Error(ErrorCode::target_refused,
                        connection.environment() +
                            ": revert_without_triggers is set, but the role may not set "
                            "session_replication_role (" +
                            e.message() + ")",
                        "GRANT SET ON PARAMETER session_replication_role TO the role (as a "
                        "superuser), or set revert_without_triggers = false");
        }
    }
    auto order = parents_first(connection, tables);
    // Children first: the rows the change inserted.
    for (auto index : std::ranges::reverse_view(order)) {
        const auto& t = tables[index];
        connection.query("DELETE FROM " + t.images.table.qualified + " c USING " +
                         t.images.after_t + " a WHERE " + t.images.table.key_join("c", "a") +
                         " AND NOT " + key_in(t.images.table, t.images.before_t, "a"));
    }
    // Parents first: the rows it deleted, then the rows it updated.
    for (auto i : order) {
        const auto& t = tables[i];
        connection.query("INSERT INTO " + t.images.table.qualified + " (" +
                         t.images.table.writable_list() + ") OVERRIDING SYSTEM VALUE SELECT " +
                         t.images.table.writable_list("b") + " FROM " + t.images.before_t +
                         " b WHERE NOT " + key_in(t.images.table, t.images.after_t, "b"));
    }
    for (auto i : order) {
        const auto& t = tables[i];
        std::string updatable = t.images.table.updatable_list();
        if (updatable.empty()) {
            continue;  // nothing but key columns: nothing to put back in rows that still exist
        }
        connection.query("UPDATE " + t.images.table.qualified + " c SET (" + updatable +
                         ") = ROW(" + t.images.table.updatable_list("b") + ") FROM " +
                         t.images.before_t + " b WHERE " + t.images.table.key_join("c", "b") +
                         " AND " + key_in(t.images.table, t.images.after_t, "b"));
    }
    if (without_triggers) {
        connection.query("SET LOCAL session_replication_role = origin");
    }
    return result;
}

Error revert_inexact_error(const std::string& environment, const std::string& what,
                           const std::vector<std::string>& hazards) {
    std::string predicted;
    for (const auto& h : hazards) {
        predicted += (predicted.empty() ? "" : "; ") + h;
    }
    return Error(
        ErrorCode::revert_inexact,
        environment + ": " + what +
            (predicted.empty() ? std::string()
                               : " (pre-flight said before the apply: " + predicted + ")") +
            "; rolled back",
        "restore with triggers off (GRANT SET ON PARAMETER session_replication_role TO "
        "the role; revert_without_triggers = true), grant what is missing, or put these "
        "rows back by a reviewed migration");
}

bool rows_equal_before_images(Connection& connection, ImageStore& images,
                              const std::vector<TableChanges>& applied,
                              std::vector<std::string>* differences) {
    bool equal = true;
    for (std::size_t k = 0; k < applied.size(); ++k) {
        const auto& c = applied[k];
        if (c.append_only) {
            continue;
        }
        auto info = load_table_info(connection, c.schema, c.table);
        std::string before_t = "datafix_before_" + temp_suffix(k);
        std::string after_t = "datafix_after_" + temp_suffix(k);
        auto now = copy_to_image(connection, images, info,
                                 "COPY (SELECT c.* FROM " + info.qualified + " c JOIN (SELECT " +
                                     info.key_list() + " FROM " + before_t + " UNION SELECT " +
                                     info.key_list() + " FROM " + after_t + ") k ON " +
                                     info.key_join("c", "k") + " ORDER BY " + info.key_order("c") +
                                     ") TO STDOUT",
                                 "p" + std::to_string(k + 1) + "-now", nullptr);
        if (now.digest != c.before.digest) {
            equal = false;
            if (differences != nullptr) {
                auto listed = describe_differences(images, c, now, info.integer_key());
                differences->insert(differences->end(), listed.begin(), listed.end());
            }
        }
        std::error_code ec;
        std::filesystem::remove(now.path, ec);
    }
    return equal;
}

void prove_restored(Connection& connection, ImageStore& images,
                    const std::vector<TableChanges>& applied,
                    const std::vector<TableChanges>& reverted,
                    const std::vector<std::string>& hazards, const std::string& environment) {
    std::vector<std::string> problems;
    rows_equal_before_images(connection, images, applied, &problems);
    for (const auto& c : applied) {
        if (c.append_only) {
            continue;
        }
        const TableChanges* r = nullptr;
        for (const auto& candidate : reverted) {
            if (candidate.qualified() == c.qualified()) {
                r = &candidate;
            }
        }
        long long r_inserted = r != nullptr ? r->inserted : 0;
        long long r_updated = r != nullptr ? r->updated : 0;
        long long r_deleted = r != nullptr ? r->deleted : 0;
        long long extra =
            (r_inserted - c.deleted) + (r_updated - c.updated) + (r_deleted - c.inserted);
        if (extra > 0) {
            problems.push_back("the revert changed " + std::to_string(extra) + " other rows of " +
                               c.qualified());
        }
    }
    // A table the change did not write but the revert did (a trigger firing on the restore).
    for (const auto& r : reverted) {
        bool known = std::any_of(applied.begin(), applied.end(), [&](const TableChanges& c) {
            return c.qualified() == r.qualified();
        });
        if (!known && !r.append_only) {
            problems.push_back("the revert changed " + std::to_string(r.changed()) + " rows of " +
                               r.qualified() + ", which the change did not write");
        }
    }
    if (problems.empty()) {
        return;
    }
    std::string listed;
    for (std::size_t i = 0; i < problems.size() && i < kListed; ++i) {
        listed += (i > 0 ? "; " : "") + problems[i];
    }
    throw revert_inexact_error(
        environment, "the revert would not put every row back exactly: " + listed, hazards);
}

}  // namespace datafix::targetdb
