// Stable names of statement kinds and file roles, as shown in output and stored in JSON.
#include "sql/analysis.hpp"

namespace datafix::sql {

std::string_view kind_name(StatementKind kind) {
    switch (kind) {
        case StatementKind::insert:
            return "insert";
        case StatementKind::update:
            return "update";
        case StatementKind::delete_:
            return "delete";
        case StatementKind::merge:
            return "merge";
        case StatementKind::select:
            return "select";
        case StatementKind::ddl:
            return "ddl";
        case StatementKind::transaction:
            return "transaction";
        case StatementKind::set:
            return "set";
        case StatementKind::copy:
            return "copy";
        case StatementKind::do_block:
            return "do";
        case StatementKind::call:
            return "call";
        case StatementKind::utility:
            return "utility";
        case StatementKind::meta_command:
            return "meta_command";
        case StatementKind::other:
            return "other";
    }
    return "other";
}

std::string_view role_name(FileRole role) {
    return role == FileRole::change ? "change" : "verify";
}

}  // namespace datafix::sql
