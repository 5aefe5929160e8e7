// Evidence comparison. Messages name rows by key only: values of other columns may be private.
#include "target/evidence_check.hpp"

#include <algorithm>
#include <functional>
#include <unordered_map>

#include "core/error.hpp"
#include "core/hash.hpp"
#include "target/copy_text.hpp"

namespace datafix::target {

namespace {

constexpr std::size_t kListed = 10;

std::string join_listed(const std::vector<std::string>& items, std::size_t total) {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) {
        out += (i > 0 ? "; " : "") + items[i];
    }
    if (total > items.size()) {
        out += "; and " + std::to_string(total - items.size()) + " more";
    }
    return out;
}

std::string statement_name(const StatementEvidence& e) {
    return "statement " + std::to_string(e.index) + " (" + e.schema + "." + e.table + ")";
}

// Which rows differ between two sorted image files, by key. Loads the approved file's keys and a
// row hash into memory: only reached when the digests already differ.
std::string describe_row_differences(const ImageStore& images, const ImageFile& seen,
                                     const ImageFile& approved, const StatementEvidence& shape) {
    auto positions = key_positions(shape);
    std::unordered_map<std::string, std::size_t> approved_rows;
    std::unordered_map<std::string, std::string> approved_described;
    std::string row;
    {
        ImageReader reader(images, approved);
        while (reader.next(row)) {
            approved_rows.emplace(key_of(positions, row), std::hash<std::string>{}(row));
        }
    }
    std::vector<std::string> listed;
    std::size_t total = 0;
    auto note = [&](std::string text) {
        ++total;
        if (listed.size() < kListed) {
            listed.push_back(std::move(text));
        }
    };
    ImageReader reader(images, seen);
    while (reader.next(row)) {
        auto key = key_of(positions, row);
        auto it = approved_rows.find(key);
        if (it == approved_rows.end()) {
            note(describe_key(shape.key_columns, positions, row) + " was not in the preview");
            continue;
        }
        if (it->second != std::hash<std::string>{}(row)) {
            note(describe_key(shape.key_columns, positions, row) + " changed since the preview");
        }
        approved_rows.erase(it);
    }
    for (const auto& [key, hash] : approved_rows) {
        // The key fields joined by tabs are the row's key columns, in order.
        note(describe_key(
                 shape.key_columns,
                 [&] {
                     std::vector<std::size_t> p;
                     for (std::size_t i = 0; i < shape.key_columns.size(); ++i) {
                         p.push_back(i);
                     }
                     return p;
                 }(),
                 key) +
             " is no longer affected");
    }
    return join_listed(listed, total);
}

}  // namespace

std::vector<std::size_t> key_positions(const std::vector<std::string>& columns,
                                       const std::vector<std::string>& key_columns) {
    std::vector<std::size_t> positions;
    for (const auto& key : key_columns) {
        auto it = std::find(columns.begin(), columns.end(), key);
        positions.push_back(static_cast<std::size_t>(it - columns.begin()));
    }
    return positions;
}

std::vector<std::size_t> key_positions(const StatementEvidence& evidence) {
    return key_positions(evidence.columns, evidence.key_columns);
}

std::vector<std::string> find_volatile_columns(const ImageStore& images,
                                               const StatementEvidence& first,
                                               const StatementEvidence& second) {
    if (first.after.rows != second.after.rows || first.columns != second.columns) {
        return first.columns;
    }
    std::vector<bool> differs(first.columns.size(), false);
    if (first.after.digest != second.after.digest) {
        ImageReader a(images, first.after);
        ImageReader b(images, second.after);
        std::string row_a;
        std::string row_b;
        while (a.next(row_a) && b.next(row_b)) {
            auto fa = split_copy_fields(row_a);
            auto fb = split_copy_fields(row_b);
            for (std::size_t i = 0; i < differs.size() && i < fa.size() && i < fb.size(); ++i) {
                if (fa[i] != fb[i]) {
                    differs[i] = true;
                }
            }
        }
    }
    std::vector<std::string> names;
    for (std::size_t i = 0; i < differs.size(); ++i) {
        if (differs[i]) {
            names.push_back(first.columns[i]);
        }
    }
    return names;
}

void require_declared_count(const StatementEvidence& seen, const std::string& environment) {
    if (!seen.expected_rows || *seen.expected_rows == seen.actual_rows) {
        return;
    }
    throw Error(ErrorCode::count_mismatch,
                environment + ": " + statement_name(seen) + " changed " +
                    std::to_string(seen.actual_rows) + " rows; the request declares " +
                    std::to_string(*seen.expected_rows) + "; the transaction was rolled back",
                "check the statement's WHERE clause, or correct the declared count and preview "
                "again");
}

void require_same_as_approved(const ImageStore& images, const StatementEvidence& seen,
                              const StatementEvidence& approved, const std::string& environment) {
    std::string where = environment + ": " + statement_name(seen);
    std::string hint =
        "the data changed since the preview; preview again and have the pair "
        "approve the new evidence";
    if (seen.columns != approved.columns || seen.key_columns != approved.key_columns) {
        throw Error(ErrorCode::count_mismatch,
                    where + ": the table's columns changed since the preview; rolled back", hint);
    }
    if (seen.actual_rows != approved.actual_rows) {
        throw Error(ErrorCode::count_mismatch,
                    where + " changed " + std::to_string(seen.actual_rows) +
                        " rows; the approved preview changed " +
                        std::to_string(approved.actual_rows) + "; rolled back",
                    hint);
    }
    if (seen.before.digest != approved.before.digest) {
        throw Error(ErrorCode::count_mismatch,
                    where + ": rows differ from the approved evidence: " +
                        describe_row_differences(images, seen.before, approved.before, seen) +
                        "; rolled back",
                    hint);
    }
    if (seen.after.digest == approved.after.digest) {
        return;
    }
    std::vector<bool> tolerated(seen.columns.size(), false);
    for (std::size_t i = 0; i < seen.columns.size(); ++i) {
        tolerated[i] = std::find(approved.volatile_columns.begin(), approved.volatile_columns.end(),
                                 seen.columns[i]) != approved.volatile_columns.end();
    }
    auto positions = key_positions(seen);
    ImageReader a(images, seen.after);
    ImageReader b(images, approved.after);
    std::string row_a;
    std::string row_b;
    std::vector<std::string> listed;
    std::size_t total = 0;
    while (a.next(row_a) && b.next(row_b)) {
        auto fa = split_copy_fields(row_a);
        auto fb = split_copy_fields(row_b);
        std::vector<std::string> columns;
        for (std::size_t i = 0; i < tolerated.size(); ++i) {
            if (!tolerated[i] && (i >= fa.size() || i >= fb.size() || fa[i] != fb[i])) {
                columns.push_back(seen.columns[i]);
            }
        }
        if (columns.empty()) {
            continue;
        }
        ++total;
        if (listed.size() < kListed) {
            std::string names;
            for (const auto& c : columns) {
                names += (names.empty() ? "" : ", ") + c;
            }
            listed.push_back(describe_key(seen.key_columns, positions, row_a) +
                             " would get other " + "values in " + names);
        }
    }
    if (total > 0) {
        throw Error(ErrorCode::count_mismatch,
                    where + ": the result differs from the approved evidence: " +
                        join_listed(listed, total) + "; rolled back",
                    hint);
    }
}

void require_same_closure(const ImageStore& images, const Evidence& seen, const Evidence& approved,
                          const std::string& environment) {
    if (!approved.closure_captured) {
        return;  // approved before datafix captured closures: the statements' check stands
    }
    std::vector<std::string> differences;
    auto find = [](const Evidence& e, const std::string& name) -> const TableChanges* {
        for (const auto& c : e.closure) {
            if (c.qualified() == name) {
                return &c;
            }
        }
        return nullptr;
    };
    auto counts = [](const TableChanges* c) {
        if (c == nullptr) {
            return std::string("nothing");
        }
        return std::to_string(c->inserted) + " inserted, " + std::to_string(c->updated) +
               " updated, " + std::to_string(c->deleted) + " deleted";
    };
    std::vector<std::string> names;
    for (const auto& c : approved.closure) {
        names.push_back(c.qualified());
    }
    for (const auto& c : seen.closure) {
        if (find(approved, c.qualified()) == nullptr) {
            names.push_back(c.qualified());
        }
    }
    for (const auto& name : names) {
        const auto* a = find(approved, name);
        const auto* s = find(seen, name);
        if (a == nullptr || s == nullptr || a->inserted != s->inserted ||
            a->updated != s->updated || a->deleted != s->deleted) {
            differences.push_back(name + ": approved " + counts(a) + ", now " + counts(s));
        } else if (a->before.digest != s->before.digest) {
            differences.push_back(name +
                                  ": the rows changed there are not the approved rows, "
                                  "or not as they were when approved");
        }
    }
    if (!differences.empty()) {
        throw Error(ErrorCode::count_mismatch,
                    environment + ": the change now writes other rows than the pair approved (" +
                        join_listed(differences, differences.size()) + "); rolled back",
                    "preview again and have the pair approve the new evidence");
    }
}

std::string fingerprint(const Evidence& evidence) {
    Sha256 digest;
    digest.update_field(evidence.kind == RunKind::change ? "change" : "revert");
    digest.update_field(evidence.plan_sha256);
    for (const auto& s : evidence.statements) {
        digest.update_field(std::to_string(s.index));
        digest.update_field(s.schema + "." + s.table);
        digest.update_field(std::to_string(s.actual_rows));
        digest.update_field(s.before.keys_digest);
        digest.update_field(s.after.keys_digest);
        digest.update_field(s.before.digest);
        digest.update_field(std::to_string(s.before.rows));
    }
    // Evidence from before closure capture keeps its fingerprint.
    if (evidence.closure_captured) {
        digest.update_field("closure");
        for (const auto& c : evidence.closure) {
            digest.update_field(c.qualified());
            digest.update_field(std::to_string(c.inserted));
            digest.update_field(std::to_string(c.updated));
            digest.update_field(std::to_string(c.deleted));
            digest.update_field(c.before.digest);
            digest.update_field(c.append_only ? "append-only" : "restorable");
        }
    }
    return digest.hex_digest();
}

}  // namespace datafix::target
