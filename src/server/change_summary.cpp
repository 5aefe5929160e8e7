// A run's changes in words, from its sealed images: rows matched by key, updated cells grouped
// by column and by (old value, new value), rows named by the display key.
#include "server/change_summary.hpp"

#include <algorithm>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "run/evidence_file.hpp"
#include "server/evidence_view.hpp"
#include "targetdb/copy_text.hpp"

namespace datafix::server {

namespace {

using Cell = std::optional<std::string>;
using Row = std::vector<Cell>;

// Enough for any change people review by hand; a larger one is summarized from its first rows
// and says so (the counts of the evidence cover all of them).
constexpr long long kMaxSummaryRows = 200000;
// How many rows a sentence names before it says "and N more".
constexpr std::size_t kKeysNamed = 3;
// Distinct (old, new) pairs of one column shown one sentence each; more become one sentence.
constexpr std::size_t kPairsSpelledOut = 3;
constexpr std::size_t kValueShown = 40;

// One table's images, from the closure (every table the run wrote) or, in evidence recorded
// before closures were captured, from the statements.
struct TableImages {
    std::string table;  // schema-qualified
    std::string name;   // the table alone
    std::vector<std::string> columns;
    std::vector<std::string> key_columns;
    const targetdb::ImageFile* before = nullptr;
    const targetdb::ImageFile* after = nullptr;
    bool quiet = false;  // written only by triggers, foreign-key actions or rules
    bool count_only = false;
    long long counted_inserts = 0;
};

struct Group {
    long long rows = 0;
    std::vector<std::string> keys;  // the first kKeysNamed rows' names
};

bool read_rows(const targetdb::ImageStore& store, const targetdb::ImageFile* file,
               std::vector<Row>& rows) {
    if (file == nullptr || file->path.empty()) {
        return true;
    }
    targetdb::ImageReader reader(store, *file);
    std::string record;
    while (reader.next(record)) {
        if (static_cast<long long>(rows.size()) >= kMaxSummaryRows) {
            return false;
        }
        Row row;
        for (auto field : targetdb::split_copy_fields(record)) {
            row.push_back(targetdb::decode_copy_field(field));
        }
        rows.push_back(std::move(row));
    }
    return true;
}

std::string shown(const Cell& value) {
    if (!value) {
        return "NULL";
    }
    if (value->empty()) {
        return "\"\"";
    }
    std::string out;
    std::size_t characters = 0;
    for (std::size_t i = 0; i < value->size(); ++i) {
        const auto c = static_cast<unsigned char>((*value)[i]);
        if ((c & 0xC0) != 0x80) {  // the first byte of a UTF-8 character
            if (characters == kValueShown) {
                return out + "…";
            }
            ++characters;
        }
        out += (c < 0x20 || c == 0x7f) ? ' ' : static_cast<char>(c);
    }
    return out;
}

std::string rows_text(long long n) {
    return std::to_string(n) + (n == 1 ? " row" : " rows");
}

std::string keys_text(const Group& g) {
    if (g.keys.empty()) {
        return {};
    }
    std::string out;
    for (const auto& k : g.keys) {
        out += (out.empty() ? "" : ", ") + k;
    }
    if (g.rows > static_cast<long long>(g.keys.size())) {
        out += " and " + std::to_string(g.rows - static_cast<long long>(g.keys.size())) + " more";
    }
    return " (" + out + ")";
}

void add_to(Group& g, const std::string& key) {
    ++g.rows;
    if (g.keys.size() < kKeysNamed) {
        g.keys.push_back(key);
    }
}

std::vector<std::size_t> indexes_of(const std::vector<std::string>& names,
                                    const std::vector<std::string>& columns) {
    std::vector<std::size_t> out;
    for (const auto& n : names) {
        auto it = std::find(columns.begin(), columns.end(), n);
        if (it != columns.end()) {
            out.push_back(static_cast<std::size_t>(it - columns.begin()));
        }
    }
    return out;
}

// The columns a BEFORE ROW trigger that fires on `table` assigns (NEW.updated_at := now()).
std::set<std::string> trigger_assigned(const nlohmann::json& preflight, const std::string& table) {
    std::set<std::string> columns;
    if (!preflight.is_object() || !preflight.contains("tables")) {
        return columns;
    }
    for (const auto& t : preflight["tables"]) {
        if (t.value("qualified", std::string()) != table || !t.contains("triggers")) {
            continue;
        }
        for (const auto& trig : t["triggers"]) {
            if (trig.value("fires", false) && trig.value("timing", std::string()) == "BEFORE" &&
                trig.value("level", std::string()) == "ROW" && trig.contains("assigns_new")) {
                for (const auto& c : trig["assigns_new"]) {
                    columns.insert(c.get<std::string>());
                }
            }
        }
    }
    return columns;
}

std::vector<TableImages> tables_of(const targetdb::Evidence& evidence) {
    std::vector<TableImages> tables;
    if (evidence.closure_captured && !evidence.closure.empty()) {
        for (const auto& c : evidence.closure) {
            tables.push_back({c.qualified(), c.table, c.columns, c.key_columns, &c.before, &c.after,
                              is_indirect(c), c.count_only, c.inserted});
        }
        return tables;
    }
    for (const auto& s : evidence.statements) {
        tables.push_back({s.schema.empty() ? s.table : s.schema + "." + s.table, s.table, s.columns,
                          s.key_columns, &s.before, &s.after, false, false, 0});
    }
    return tables;
}

std::string row_key(const Row& row, const std::vector<std::size_t>& keys) {
    std::string out;
    for (std::size_t i : keys) {
        out += (i < row.size() && row[i]) ? *row[i] : std::string("\x01NULL");
        out += '\x1f';
    }
    return out;
}

}  // namespace

std::vector<std::string> display_columns(const std::string& table,
                                         const std::vector<std::string>& columns,
                                         const std::vector<std::string>& key_columns,
                                         const std::map<std::string, std::string>& display_keys) {
    auto it = display_keys.find(table);
    if (it != display_keys.end() &&
        std::find(columns.begin(), columns.end(), it->second) != columns.end()) {
        return {it->second};
    }
    return key_columns;
}

nlohmann::json summarize_changes(const targetdb::ImageStore& store,
                                 const targetdb::Evidence& evidence,
                                 const nlohmann::json& preflight,
                                 const std::map<std::string, std::string>& display_keys) {
    nlohmann::json tables = nlohmann::json::array();
    nlohmann::json loud = nlohmann::json::array();
    nlohmann::json quiet_sentences = nlohmann::json::array();
    long long total = 0;
    for (const TableImages& t : tables_of(evidence)) {
        std::vector<Row> before;
        std::vector<Row> after;
        bool complete = read_rows(store, t.before, before);
        complete = read_rows(store, t.after, after) && complete;

        std::vector<std::size_t> keys = indexes_of(t.key_columns, t.columns);
        if (keys.empty()) {
            for (std::size_t i = 0; i < t.columns.size(); ++i) {
                keys.push_back(i);
            }
        }
        const std::vector<std::string> shown_by =
            display_columns(t.table, t.columns, t.key_columns, display_keys);
        const bool configured = display_keys.contains(t.table) && shown_by.size() == 1 &&
                                shown_by.front() == display_keys.at(t.table);
        const std::vector<std::size_t> label_indexes = indexes_of(shown_by, t.columns);
        auto label = [&](const Row& row) {
            std::string out;
            for (std::size_t i : label_indexes) {
                const std::string value = i < row.size() ? shown(row[i]) : "NULL";
                out +=
                    (out.empty() ? "" : ", ") + (configured ? value : t.columns[i] + " " + value);
            }
            return out;
        };

        std::unordered_map<std::string, const Row*> before_by_key;
        for (const Row& r : before) {
            before_by_key[row_key(r, keys)] = &r;
        }
        const std::set<std::string> assigned = trigger_assigned(preflight, t.table);
        Group inserted;
        Group deleted;
        long long updated = 0;
        // column index -> (old, new) -> rows
        std::map<std::size_t, std::map<std::pair<Cell, Cell>, Group>> changes;
        // column index -> every row it changed on, in key order
        std::map<std::size_t, Group> changed_rows;
        std::set<std::string> seen;
        for (const Row& a : after) {
            const std::string k = row_key(a, keys);
            seen.insert(k);
            auto it = before_by_key.find(k);
            if (it == before_by_key.end()) {
                add_to(inserted, label(a));
                continue;
            }
            ++updated;
            const Row& b = *it->second;
            for (std::size_t i = 0; i < t.columns.size() && i < a.size() && i < b.size(); ++i) {
                if (a[i] != b[i]) {
                    const std::string name = label(a);
                    add_to(changes[i][{b[i], a[i]}], name);
                    add_to(changed_rows[i], name);
                }
            }
        }
        for (const Row& b : before) {
            if (!seen.contains(row_key(b, keys))) {
                add_to(deleted, label(b));
            }
        }
        if (t.count_only) {
            inserted.rows = t.counted_inserts;
        }

        nlohmann::json table_changes = nlohmann::json::array();
        nlohmann::json quiet_columns = nlohmann::json::array();
        auto say = [&](const std::string& text, bool quiet) {
            (quiet ? quiet_sentences : loud)
                .push_back({{"text", t.name + ": " + text}, {"table", t.table}, {"quiet", quiet}});
        };
        // The change itself first, what triggers did after it.
        for (int pass = 0; pass < 2; ++pass) {
            for (const auto& [index, pairs] : changes) {
                const std::string& column = t.columns[index];
                const bool quiet = t.quiet || assigned.contains(column);
                if (quiet != (pass == 1)) {
                    continue;
                }
                if (quiet && !t.quiet) {
                    quiet_columns.push_back(column);
                }
                std::vector<std::pair<std::pair<Cell, Cell>, Group>> sorted(pairs.begin(),
                                                                            pairs.end());
                std::stable_sort(sorted.begin(), sorted.end(), [](const auto& x, const auto& y) {
                    return x.second.rows > y.second.rows;
                });
                for (const auto& [values, g] : sorted) {
                    table_changes.push_back(
                        {{"column", column},
                         {"quiet", quiet},
                         {"from", values.first ? nlohmann::json(*values.first) : nlohmann::json()},
                         {"to", values.second ? nlohmann::json(*values.second) : nlohmann::json()},
                         {"rows", g.rows},
                         {"keys", g.keys}});
                }
                if (sorted.size() <= kPairsSpelledOut) {
                    for (const auto& [values, g] : sorted) {
                        say(column + " " + shown(values.first) + " → " + shown(values.second) +
                                " on " + rows_text(g.rows) + keys_text(g),
                            quiet);
                    }
                } else {
                    const Group& all = changed_rows[index];
                    say(column + " changed on " + rows_text(all.rows) + ", " +
                            std::to_string(sorted.size()) + " different changes" + keys_text(all),
                        quiet);
                }
            }
            if (pass == 0) {
                if (inserted.rows > 0) {
                    say(rows_text(inserted.rows) + " inserted" + keys_text(inserted), t.quiet);
                }
                if (deleted.rows > 0) {
                    say(rows_text(deleted.rows) + " deleted" + keys_text(deleted), t.quiet);
                }
            }
        }
        if (!t.quiet) {
            total += inserted.rows + updated + deleted.rows;
        }
        nlohmann::json entry = {{"table", t.table},
                                {"name", t.name},
                                {"display_key", shown_by},
                                {"key_columns", t.key_columns},
                                {"inserted", inserted.rows},
                                {"updated", updated},
                                {"deleted", deleted.rows},
                                {"quiet", t.quiet},
                                {"quiet_columns", quiet_columns},
                                {"changes", table_changes},
                                {"partial", !complete}};
        if (display_keys.contains(t.table) && !configured) {
            entry["display_key_missing"] = display_keys.at(t.table);
        }
        tables.push_back(std::move(entry));
    }
    for (auto& s : quiet_sentences) {
        loud.push_back(std::move(s));
    }
    return {{"tables", tables}, {"sentences", loud}, {"rows", total}};
}

}  // namespace datafix::server
