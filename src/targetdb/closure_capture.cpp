// Closure capture by row versions (see closure_capture.hpp for why this finds every row).
#include "targetdb/closure_capture.hpp"

#include <charconv>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <unordered_set>
#include <utility>

#include "core/error.hpp"
#include "targetdb/connection.hpp"
#include "targetdb/copy_text.hpp"
#include "targetdb/statement_capture.hpp"
#include "targetdb/table_info.hpp"

namespace datafix::targetdb {

namespace {

// ctids checked against the run per round trip: bounds memory, keeps round trips few.
constexpr std::size_t kCtidBatch = 5000;

// The before side: candidates from the observer (old versions with xmax set), kept when the run
// can no longer see them.
class BeforeImages {
  public:
    BeforeImages(Connection& run, const TableInfo& table, ImageWriter& writer)
        : run_(run), table_(table), writer_(writer) {}

    // `changed`: already known to be changed (the run wrote a row with its key, and a unique key
    // cannot be held by two visible rows), so it needs no look by ctid.
    void add(std::string ctid, std::string row, bool changed) {
        batch_.push_back(Candidate{std::move(ctid), std::move(row), changed});
        unknown_ += changed ? 0 : 1;
        if (unknown_ >= kCtidBatch || batch_.size() >= kCtidBatch * 10) {
            flush();
        }
    }

    void flush() {
        if (batch_.empty()) {
            return;
        }
        std::unordered_set<std::string> still;
        if (unknown_ > 0) {
            std::string list;
            for (const auto& c : batch_) {
                if (!c.changed) {
                    list += (list.empty() ? "" : " ") + c.ctid;
                }
            }
            // The planner prices a few thousand ctids above a sequential scan of all but the
            // largest tables, and would read the whole table once per batch. With sequential
            // scans off for this one query (set and put back inside the run's transaction), each
            // batch is a TID scan: one page look per ctid.
            auto was = run_.query(
                               "SELECT w.was, set_config('enable_seqscan', 'off', true) "
                               "FROM (SELECT current_setting('enable_seqscan') AS was OFFSET 0) w")
                           .rows.at(0)
                           .at(0)
                           .value_or("on");
            auto visible = run_.query("SELECT t.ctid::text FROM " + table_.qualified +
                                          " t WHERE t.ctid = ANY (string_to_array($1, ' ')::tid[])",
                                      {list});
            run_.query("SELECT set_config('enable_seqscan', $1, true)", {was});
            for (const auto& row : visible.rows) {
                still.insert(row[0].value_or(""));
            }
        }
        for (const auto& c : batch_) {
            if (c.changed || still.count(c.ctid) == 0) {
                writer_.add(c.row);
                ++(c.changed ? kept_rewritten_ : kept_gone_);
            }
        }
        batch_.clear();
        unknown_ = 0;
    }

    // Rows kept whose key the run wrote again (updated), and the others (deleted).
    long long kept_rewritten() const { return kept_rewritten_; }
    long long kept_gone() const { return kept_gone_; }

  private:
    struct Candidate {
        std::string ctid;
        std::string row;
        bool changed = false;
    };
    Connection& run_;
    const TableInfo& table_;
    ImageWriter& writer_;
    std::vector<Candidate> batch_;
    std::size_t unknown_ = 0;
    long long kept_rewritten_ = 0;
    long long kept_gone_ = 0;
};

void count_changes(const ImageStore& images, TableChanges& changes,
                   const std::vector<std::size_t>& key_positions, bool numeric) {
    if (changes.before.rows == 0) {
        changes.inserted = changes.after.rows;  // nothing existed before: every row is new
        return;
    }
    ImageReader before(images, changes.before);
    ImageReader after(images, changes.after);
    std::string b;
    std::string a;
    bool has_b = before.next(b);
    bool has_a = after.next(a);
    while (has_b || has_a) {
        int order = !has_a ? -1 : !has_b ? 1 : compare_keys(key_positions, b, a, numeric);
        if (order < 0) {
            ++changes.deleted;
            has_b = before.next(b);
        } else if (order > 0) {
            ++changes.inserted;
            has_a = after.next(a);
        } else {
            ++changes.updated;
            has_b = before.next(b);
            has_a = after.next(a);
        }
    }
}

}  // namespace

std::vector<ClosureTable> closure_tables(const PreflightReport& report) {
    std::vector<ClosureTable> out;
    for (const auto& t : report.tables) {
        if (t.found) {
            out.push_back(ClosureTable{t.schema, t.table, t.reached_by, t.append_only});
        }
    }
    return out;
}

namespace {

// Field `pos` of a COPY text row, still escaped; nullopt past the last field.
std::optional<std::string_view> copy_field(std::string_view row, std::size_t pos) {
    std::size_t start = 0;
    for (std::size_t i = 0; i < pos; ++i) {
        auto tab = row.find('\t', start);
        if (tab == std::string_view::npos) {
            return std::nullopt;
        }
        start = tab + 1;
    }
    auto tab = row.find('\t', start);
    return row.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start);
}

// A key field's decoded value as compare_keys orders it; NULL (\N) and a missing field are
// nullopt. A field without a backslash is its own value, so most keys need no copy.
struct KeyValue {
    std::optional<std::string_view> plain;
    std::optional<std::string> decoded;
    bool null = true;
    std::string_view text() const {
        return null ? std::string_view() : decoded ? std::string_view(*decoded) : *plain;
    }
};

KeyValue key_value(std::string_view row, std::size_t pos) {
    KeyValue v;
    auto field = copy_field(row, pos);
    if (!field) {
        return v;
    }
    if (field->find('\\') == std::string_view::npos) {
        v.plain = field;
        v.null = false;
        return v;
    }
    v.decoded = decode_copy_field(*field);
    v.null = !v.decoded.has_value();
    return v;
}

long long key_number(const KeyValue& v) {
    auto text = v.null ? std::string_view("0") : v.text();
    long long out = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (ec == std::errc() && end == text.data() + text.size() && !text.empty()) {
        return out;
    }
    return std::stoll(std::string(text));  // what it always did with anything else
}

}  // namespace

int compare_keys(const std::vector<std::size_t>& key_positions, std::string_view a,
                 std::string_view b, bool numeric) {
    for (auto pos : key_positions) {
        auto va = key_value(a, pos);
        auto vb = key_value(b, pos);
        int c = 0;
        if (numeric) {
            long long x = key_number(va);
            long long y = key_number(vb);
            c = x < y ? -1 : x > y ? 1 : 0;
        } else {
            c = va.text().compare(vb.text());
        }
        if (c != 0) {
            return c;
        }
    }
    return 0;
}

namespace {

// A table written by one statement alone: its changes are that statement's images, shared with
// its evidence (the same sealed files), counted without a scan. Nullopt when it changed nothing.
std::optional<TableChanges> statement_changes(Connection& run, const ImageStore& images,
                                              const ClosureTable& wanted) {
    const auto& s = *wanted.written_alone;
    TableChanges changes;
    changes.schema = s.schema;
    changes.table = s.table;
    changes.columns = s.columns;
    changes.key_columns = s.key_columns;
    changes.causes = wanted.causes;
    changes.volatility = wanted.volatility;
    changes.before = s.before;
    changes.after = s.after;
    if (s.kind == StatementKind::delete_) {
        changes.deleted = s.before.rows;
    } else if (s.kind == StatementKind::insert) {
        changes.inserted = s.after.rows;
    } else if (s.before.keys_digest == s.after.keys_digest) {
        changes.updated = s.after.rows;  // the same keys before and after: every row updated
    } else {
        // Keys were rewritten: merge the two images by key, as a scan's would be.
        auto info = load_table_info(run, s.schema, s.table);
        count_changes(images, changes, info.key_positions, info.integer_key());
    }
    if (changes.changed() == 0) {
        return std::nullopt;
    }
    return changes;
}

std::vector<TableChanges> scan_changes(Connection& run, Connection& observer, ImageStore& images,
                                       const std::vector<ClosureTable>& tables,
                                       const std::string& label);

}  // namespace

std::vector<TableChanges> capture_changes(Connection& run, Connection& observer, ImageStore& images,
                                          const std::vector<ClosureTable>& tables,
                                          const std::string& label) {
    std::vector<ClosureTable> scanned;
    for (const auto& t : tables) {
        if (t.written_alone == nullptr) {
            scanned.push_back(t);
        }
    }
    auto found = scan_changes(run, observer, images, scanned, label);
    if (scanned.size() == tables.size()) {
        return found;
    }
    // In the pre-flight's order, as a scan of every table would have listed them.
    std::vector<TableChanges> out;
    std::size_t next = 0;
    for (const auto& t : tables) {
        if (t.written_alone != nullptr) {
            if (auto changes = statement_changes(run, images, t)) {
                out.push_back(std::move(*changes));
            }
        } else if (next < found.size() && found[next].schema == t.schema &&
                   found[next].table == t.table) {
            out.push_back(std::move(found[next++]));
        }
    }
    return out;
}

namespace {

std::vector<TableChanges> scan_changes(Connection& run, Connection& observer, ImageStore& images,
                                       const std::vector<ClosureTable>& tables,
                                       const std::string& label) {
    std::vector<TableChanges> out;
    if (tables.empty()) {
        return out;
    }
    std::vector<TableInfo> infos;
    infos.reserve(tables.size());
    for (const auto& wanted : tables) {
        infos.push_back(load_table_info(run, wanted.schema, wanted.table));
    }
    // The observer's scans run on their own backend while the run's backend copies the
    // after-images: two cores, one wait. Candidate files are created here, on this thread,
    // since the image store is not shared between threads.
    std::vector<std::unique_ptr<ImageWriter>> candidate_writers;
    for (std::size_t k = 0; k < tables.size(); ++k) {
        candidate_writers.push_back(
            std::make_unique<ImageWriter>(images, label + std::to_string(k + 1) + "-candidates",
                                          std::vector<std::size_t>{}, false));
    }
    std::vector<ImageFile> candidates;
    {
        SharedSnapshot shared(run, observer);
        auto scanning = std::async(std::launch::async, [&] {
            std::vector<ImageFile> files;
            for (std::size_t k = 0; k < tables.size(); ++k) {
                auto& writer = *candidate_writers[k];
                observer.copy_out("COPY (SELECT t.ctid, t.* FROM " + infos[k].qualified +
                                      " t WHERE t.xmax <> '0'::xid ORDER BY " +
                                      infos[k].key_order("t") + ") TO STDOUT",
                                  [&writer](std::string_view line) { writer.add(line); });
                files.push_back(writer.finish());
            }
            return files;
        });
        std::vector<TableChanges> all(tables.size());
        std::exception_ptr failed;
        try {
            for (std::size_t k = 0; k < tables.size(); ++k) {
                const auto& info = infos[k];
                auto& changes = all[k];
                changes.schema = info.schema;
                changes.table = info.table;
                changes.columns = info.columns;
                changes.key_columns = info.key_columns;
                changes.causes = tables[k].causes;
                changes.append_only = tables[k].append_only;
                changes.count_only = tables[k].count_only;
                std::string base = label + std::to_string(k + 1);
                if (changes.count_only) {
                    changes.inserted =
                        std::stoll(run.query("SELECT count(*) FROM " + info.qualified +
                                             " t WHERE age(t.xmin) <= 0")
                                       .scalar());
                    changes.after = ImageWriter(images, base + "-after").finish();
                    continue;
                }
                // An append-only table's new rows need no sort: nothing to merge them with.
                changes.after = copy_to_image(
                    run, images, info,
                    "COPY (SELECT t.* FROM " + info.qualified + " t WHERE age(t.xmin) <= 0" +
                        (changes.append_only ? std::string() : " ORDER BY " + info.key_order("t")) +
                        ") TO STDOUT",
                    base + "-after", nullptr, tables[k].volatility);
            }
        } catch (...) {
            failed = std::current_exception();
        }
        // The observer's thread must end before anything else uses it (or its writers).
        try {
            candidates = scanning.get();
        } catch (...) {
            if (!failed) {
                failed = std::current_exception();
            }
        }
        if (failed) {
            std::rethrow_exception(failed);
        }
        shared.finish();

        for (std::size_t k = 0; k < tables.size(); ++k) {
            const auto& info = infos[k];
            auto& changes = all[k];
            std::string base = label + std::to_string(k + 1);
            ImageWriter writer(images, base + "-before", info.key_positions);
            // Both in key order (unless the after-images were left unsorted): a candidate whose
            // key the run wrote again is an updated row.
            bool sorted_after = !changes.append_only && !changes.count_only;
            long long rewritten_rows = 0;
            long long gone_rows = 0;
            {
                BeforeImages before(run, info, writer);
                ImageReader reader(images, candidates[k]);
                std::optional<ImageReader> after;
                if (sorted_after) {
                    after.emplace(images, changes.after);
                }
                std::string after_row;
                bool has_after = sorted_after && after->next(after_row);
                std::string line;
                while (reader.next(line)) {
                    auto tab = line.find('\t');
                    if (tab == std::string::npos) {
                        throw Error(ErrorCode::internal, "capture row without a ctid");
                    }
                    std::string row = line.substr(tab + 1);
                    bool rewritten = false;
                    while (has_after) {
                        int c =
                            compare_keys(info.key_positions, after_row, row, info.integer_key());
                        if (c > 0) {
                            break;
                        }
                        if (c == 0) {
                            rewritten = true;
                            break;
                        }
                        has_after = after->next(after_row);
                    }
                    before.add(line.substr(0, tab), std::move(row), rewritten);
                }
                before.flush();
                rewritten_rows = before.kept_rewritten();
                gone_rows = before.kept_gone();
            }
            changes.before = writer.finish();
            std::error_code ec;
            std::filesystem::remove(candidates[k].path, ec);
            bool unsorted = changes.append_only || changes.count_only;
            if (changes.before.rows > 0 && unsorted) {
                // Rows of an append-only table were updated or deleted: read its new rows again,
                // in key order, so they can be told apart.
                std::filesystem::remove(changes.after.path, ec);
                changes.count_only = false;
                changes.inserted = 0;
                changes.after = copy_to_image(run, images, info,
                                              "COPY (SELECT t.* FROM " + info.qualified +
                                                  " t WHERE age(t.xmin) <= 0 ORDER BY " +
                                                  info.key_order("t") + ") TO STDOUT",
                                              base + "-after", nullptr, tables[k].volatility);
            }
            if (sorted_after) {
                // The walk above merged the before-images with the after-images by key: a kept
                // row the run wrote again is updated, another kept row deleted, and every other
                // after-image inserted (keys are unique among the rows one snapshot sees), as
                // count_changes would find by reading both again.
                changes.updated = rewritten_rows;
                changes.deleted = gone_rows;
                changes.inserted = changes.after.rows - rewritten_rows;
            } else if (!changes.count_only) {
                count_changes(images, changes, info.key_positions, info.integer_key());
            }
            if (changes.changed() == 0) {
                std::filesystem::remove(changes.before.path, ec);
                std::filesystem::remove(changes.after.path, ec);
                continue;
            }
            out.push_back(std::move(changes));
        }
    }
    return out;
}

}  // namespace

}  // namespace datafix::targetdb
