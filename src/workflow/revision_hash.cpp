// Revision hashes: length-prefixed fields, so no two different revisions share a hash.
#include "workflow/revision_hash.hpp"

#include "core/hash.hpp"

namespace datafix::workflow {

std::string revision_hash(std::string_view change_sql, std::string_view verify_sql,
                          const std::vector<model::StatementInfo>& statements, bool all_rows) {
    Sha256 h;
    h.update_field("datafix-revision-v1");
    h.update_field(change_sql);
    h.update_field(verify_sql);
    h.update_field(std::to_string(statements.size()));
    for (const model::StatementInfo& statement : statements) {
        h.update_field(std::to_string(statement.expected_rows));
    }
    h.update_field(all_rows ? "all-rows" : "where-required");
    return h.hex_digest();
}

}  // namespace datafix::workflow
