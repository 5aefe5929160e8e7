// What the target layer needs to know about a table it captures: its columns in image order,
// the key that identifies a row, and what else writes when it is written (triggers, cascades).
#pragma once

#include <string>
#include <vector>

namespace datafix::targetdb {

class Connection;

struct TableInfo {
    std::string schema;
    std::string table;
    std::string qualified;  // quoted schema.table, safe to put in SQL text
    std::vector<std::string> columns;
    std::vector<std::string> quoted_columns;
    std::vector<bool> generated;        // GENERATED ... STORED: never written back
    std::vector<bool> identity_always;  // GENERATED ALWAYS AS IDENTITY: written only OVERRIDING
    std::vector<bool> integer;          // smallint, integer or bigint
    std::vector<std::string> key_columns;
    std::vector<std::size_t> key_positions;  // indexes into columns
    std::vector<std::string> indirect_writes;

    std::string key_list(const std::string& prefix = {}) const;  // "p.id, p.other"
    // Every key column is an integer: images are then ordered by the keys' numeric value (the
    // cheapest sort), else by their text, bytewise (COLLATE "C"). compare_keys agrees with both.
    bool integer_key() const;
    // "ORDER BY" list for closure images in that order, e.g. "t.id" or "t.code::text COLLATE
    // \"C\"".
    std::string key_order(const std::string& alias) const;
    // "a.k1 = b.k1 AND a.k2 = b.k2"
    std::string key_join(const std::string& left, const std::string& right) const;
    // Columns that can be written (not generated), quoted, with an optional prefix.
    std::string writable_list(const std::string& prefix = {}) const;
    // Columns an UPDATE restoring a row sets: writable, not the key, not an identity.
    std::string updatable_list(const std::string& prefix = {}) const;
};

// Reads the catalog; refuses (Error target_refused) a table without a primary key or a unique
// not-null key, since its rows could not be identified for evidence or revert.
TableInfo load_table_info(Connection& connection, const std::string& schema,
                          const std::string& table);

}  // namespace datafix::targetdb
