// Evidence comparison. Messages name rows by key only: values of other columns may be private.
#include "targetdb/evidence_check.hpp"

#include <algorithm>
#include <functional>
#include <optional>
#include <unordered_map>

#include "core/error.hpp"
#include "core/hash.hpp"
#include "targetdb/copy_text.hpp"
#include "targetdb/evidence_json.hpp"
#include "targetdb/masked_digest.hpp"

namespace datafix::targetdb {

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
    return find_volatile_columns(images, first.after, second.after, first.columns);
}

std::vector<std::string> find_volatile_columns(const ImageStore& images, const ImageFile& first,
                                               const ImageFile& second,
                                               const std::vector<std::string>& columns) {
    if (first.rows != second.rows) {
        return columns;
    }
    std::vector<bool> differs(columns.size(), false);
    if (first.digest != second.digest) {
        ImageReader a(images, first);
        ImageReader b(images, second);
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
            names.push_back(columns[i]);
        }
    }
    return names;
}

namespace {

// split_copy_fields into a vector that is reused from row to row.
void split_fields(std::string_view row, std::vector<std::string_view>& fields) {
    fields.clear();
    std::size_t start = 0;
    for (;;) {
        auto tab = row.find('\t', start);
        if (tab == std::string_view::npos) {
            fields.push_back(row.substr(start));
            return;
        }
        fields.push_back(row.substr(start, tab - start));
        start = tab + 1;
    }
}

// Per column of an image: the volatility entry that masks it, or null.
std::vector<const VolatileColumn*> mask_of(const std::vector<std::string>& columns,
                                           const std::vector<VolatileColumn>& volatility) {
    std::vector<const VolatileColumn*> mask(columns.size(), nullptr);
    for (const auto& v : volatility) {
        auto it = std::find(columns.begin(), columns.end(), v.column);
        if (it != columns.end()) {
            mask[static_cast<std::size_t>(it - columns.begin())] = &v;
        }
    }
    return mask;
}

}  // namespace

std::string masked_after_digest(const ImageStore& images, const ImageFile& after,
                                const std::vector<std::string>& columns,
                                const std::vector<std::string>& key_columns,
                                const std::vector<VolatileColumn>& volatility) {
    if (volatility.empty()) {
        return after.digest;
    }
    if (auto streamed = images.streamed_masked_digest(
            after.path, MaskedDigest::signature(columns, key_columns, volatility))) {
        return *streamed;
    }
    return reread_masked_after_digest(images, after, columns, key_columns, volatility);
}

std::string reread_masked_after_digest(const ImageStore& images, const ImageFile& after,
                                       const std::vector<std::string>& columns,
                                       const std::vector<std::string>& key_columns,
                                       const std::vector<VolatileColumn>& volatility) {
    if (volatility.empty()) {
        return after.digest;
    }
    MaskedDigest digest(columns, key_columns, volatility);
    std::string row;
    ImageReader reader(images, after);
    while (reader.next(row)) {
        digest.add(row);
    }
    return digest.hex_digest();
}

std::set<std::string> VolatileValues::sequences() const {
    std::set<std::string> out;
    for (const auto& [label, d] : drawn) {
        out.insert(d.sequence);
    }
    return out;
}

namespace {

// The clock and sequence values of `seen_after` that must be checked against their class, into
// `values` (labelled schema.table.column). A value the row already had is no new value: where the
// key is stable, rows pair with the approved after-images (same keys, same order) and a value
// equal to the approved one passes; where the key itself is volatile (rows an INSERT drew keys
// for), a row whose key is in the before-images is an updated row, and a value equal to its
// before-image passes.
void gather_volatile_values(const ImageStore& images, const ImageFile& seen_after,
                            const ImageFile& approved_after, const ImageFile& seen_before,
                            const std::vector<std::string>& columns,
                            const std::vector<std::string>& key_columns,
                            const std::vector<VolatileColumn>& volatility, const std::string& table,
                            VolatileValues& values) {
    auto mask = mask_of(columns, volatility);
    bool any = std::any_of(mask.begin(), mask.end(), [](const VolatileColumn* v) {
        return v != nullptr && (v->volatility == VolatilityClass::clock ||
                                v->volatility == VolatilityClass::sequence);
    });
    if (!any) {
        return;
    }
    auto positions = key_positions(columns, key_columns);
    bool key_volatile = key_is_volatile(key_columns, volatility);
    std::unordered_map<std::string, std::string> before_rows;
    if (key_volatile && seen_before.rows > 0) {
        ImageReader before(images, seen_before);
        std::string row;
        while (before.next(row)) {
            before_rows.emplace(key_of(positions, row), row);
        }
    }
    std::optional<ImageReader> approved;
    if (!key_volatile) {
        approved.emplace(images, approved_after);
    }
    ImageReader reader(images, seen_after);
    std::string row;
    std::string earlier;
    // Per column: its label, and the value it last gathered.
    std::vector<std::string> labels(mask.size());
    for (std::size_t i = 0; i < mask.size(); ++i) {
        if (mask[i] != nullptr) {
            labels[i] = table + "." + mask[i]->column;
        }
    }
    std::vector<std::string> last(mask.size());
    std::vector<bool> gathered(mask.size(), false);
    std::vector<std::string_view> fields;
    std::vector<std::string_view> earlier_fields;
    while (reader.next(row)) {
        bool paired = false;
        if (approved) {
            paired = approved->next(earlier);
        } else {
            auto it = before_rows.find(key_of(positions, row));
            paired = it != before_rows.end();
            if (paired) {
                earlier = it->second;
            }
        }
        split_fields(row, fields);
        if (paired) {
            split_fields(earlier, earlier_fields);
        } else {
            earlier_fields.clear();
        }
        for (std::size_t i = 0; i < fields.size() && i < mask.size(); ++i) {
            const auto* v = mask[i];
            if (v == nullptr || fields[i] == "\\N") {
                continue;
            }
            if (i < earlier_fields.size() && earlier_fields[i] == fields[i]) {
                continue;
            }
            if (gathered[i] && last[i] == fields[i]) {
                continue;  // already in the set (a transaction's clock is one value)
            }
            const auto& label = labels[i];
            if (v->volatility == VolatilityClass::clock) {
                auto& c = values.clock[label];
                c.type = v->type;
                c.values.emplace(fields[i]);
            } else if (v->volatility == VolatilityClass::sequence) {
                auto& d = values.drawn[label];
                d.sequence = v->sequence;
                d.values.emplace(fields[i]);
            }
            last[i].assign(fields[i]);
            gathered[i] = true;
        }
    }
}

std::string volatile_names(const std::vector<VolatileColumn>& volatility) {
    std::string out;
    for (const auto& v : volatility) {
        out += (out.empty() ? "" : ", ") + v.column;
    }
    return out.empty() ? "none" : out;
}

}  // namespace

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
                              const StatementEvidence& approved, const std::string& environment,
                              VolatileValues* values, bool after_earlier_statements) {
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
    bool before_differs = seen.before.digest != approved.before.digest;
    if (before_differs && after_earlier_statements && !approved.volatility.empty()) {
        before_differs = reread_masked_after_digest(images, seen.before, seen.columns,
                                                    seen.key_columns, approved.volatility) !=
                         reread_masked_after_digest(images, approved.before, seen.columns,
                                                    seen.key_columns, approved.volatility);
    }
    if (before_differs) {
        throw Error(ErrorCode::count_mismatch,
                    where + ": rows differ from the approved evidence: " +
                        describe_row_differences(images, seen.before, approved.before, seen) +
                        "; rolled back",
                    hint);
    }
    bool covered = !approved.after_masked.empty();
    if (covered) {
        if (masked_after_digest(images, seen.after, seen.columns, seen.key_columns,
                                approved.volatility) == approved.after_masked) {
            if (values != nullptr) {
                gather_volatile_values(images, seen.after, approved.after, seen.before,
                                       seen.columns, seen.key_columns, approved.volatility,
                                       seen.schema + "." + seen.table, *values);
            }
            return;
        }
        if (key_is_volatile(seen.key_columns, approved.volatility)) {
            throw Error(ErrorCode::count_mismatch,
                        where +
                            ": the rows it wrote differ from the approved evidence in "
                            "columns other than those that may vary (" +
                            volatile_names(approved.volatility) + "); rolled back",
                        hint);
        }
    } else if (seen.after.digest == approved.after.digest) {
        return;
    }
    std::vector<bool> tolerated(seen.columns.size(), false);
    for (std::size_t i = 0; i < seen.columns.size(); ++i) {
        tolerated[i] =
            covered
                ? std::any_of(approved.volatility.begin(), approved.volatility.end(),
                              [&](const VolatileColumn& v) { return v.column == seen.columns[i]; })
                : std::find(approved.volatile_columns.begin(), approved.volatile_columns.end(),
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
    if (covered) {
        // Every field agrees outside the volatile columns, yet the masked digests differ: a
        // volatile column turned NULL or non-NULL.
        throw Error(ErrorCode::count_mismatch,
                    where + ": a column that may vary (" + volatile_names(approved.volatility) +
                        ") is empty where the approved evidence had a value, or the reverse; "
                        "rolled back",
                    hint);
    }
}

void require_same_closure(const ImageStore& images, const Evidence& seen, const Evidence& approved,
                          const std::string& environment, VolatileValues* values) {
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
        } else if (!a->after_masked.empty() && !a->append_only && !s->count_only) {
            if (masked_after_digest(images, s->after, s->columns, s->key_columns, a->volatility) !=
                a->after_masked) {
                differences.push_back(name +
                                      ": rows get other values than approved, in columns other "
                                      "than those that may vary (" +
                                      volatile_names(a->volatility) + ")");
            } else if (values != nullptr) {
                gather_volatile_values(images, s->after, a->after, s->before, s->columns,
                                       s->key_columns, a->volatility, name, *values);
            }
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
        // Keys an INSERT draws (an identity) are new at every run: the masked after-images
        // below cover those rows.
        digest.update_field(evidence.after_approved && key_is_volatile(s.key_columns, s.volatility)
                                ? std::string("drawn keys")
                                : s.after.keys_digest);
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
    // Evidence from before after-images were approved keeps its fingerprint.
    if (evidence.after_approved) {
        auto feed_volatility = [&](const std::vector<VolatileColumn>& volatility) {
            for (const auto& v : volatility) {
                digest.update_field(v.column);
                digest.update_field(volatility_class_name(v.volatility));
                digest.update_field(v.type);
                digest.update_field(v.sequence);
            }
            digest.update_field("end");
        };
        digest.update_field("after");
        for (const auto& s : evidence.statements) {
            digest.update_field(s.after_masked);
            feed_volatility(s.volatility);
        }
        for (const auto& c : evidence.closure) {
            if (!c.append_only) {
                digest.update_field(c.qualified());
                digest.update_field(c.after_masked);
                feed_volatility(c.volatility);
            }
        }
        for (const auto& u : evidence.volatility_unknown) {
            digest.update_field(u);
        }
    }
    return digest.hex_digest();
}

}  // namespace datafix::targetdb
