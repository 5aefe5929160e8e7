// The function allowlist. The list itself is data (sql/allowed_functions.inc, compiled in as one
// string and read once); this file only reads it and decides one call at a time.
//
// An unqualified name is treated as PostgreSQL's own: pg_catalog comes first on every search path,
// so `lower(x)` is pg_catalog.lower, and a name the list does not hold is refused even when an
// application function of that name exists. Such a function is called with its schema
// (app_public.f()), which makes what runs visible to the reviewer and to pre-flight.
#include "sql/internal/function_policy.hpp"

#include <algorithm>
#include <sstream>
#include <unordered_map>

#include "sql/internal/function_denylist.hpp"

namespace datafix::sql::internal {

namespace {

constexpr std::string_view kAllowlistText =
#include "sql/allowed_functions.inc"
    ;

enum class Scope { anywhere, insert_only };

const std::unordered_map<std::string, Scope>& allowlist() {
    static const std::unordered_map<std::string, Scope> names = [] {
        std::unordered_map<std::string, Scope> out;
        std::istringstream lines{std::string(kAllowlistText)};
        std::string line;
        while (std::getline(lines, line)) {
            line = line.substr(0, line.find('#'));
            std::istringstream words(line);
            std::string name;
            std::string flag;
            if (!(words >> name)) {
                continue;
            }
            words >> flag;
            out[name] = flag == "insert-only" ? Scope::insert_only : Scope::anywhere;
        }
        return out;
    }();
    return names;
}

bool is_system_schema(std::string_view schema) {
    // pg_catalog, pg_toast, pg_temp_N and information_schema
    return schema.starts_with("pg_") || schema == "information_schema";
}

}  // namespace

std::optional<std::string> refused_call(std::string_view schema, std::string_view name,
                                        CallSite site) {
    std::string shown =
        (schema.empty() ? "" : std::string(schema) + ".") + std::string(name) + "()";
    if (!schema.empty() && schema != "pg_catalog") {
        if (is_system_schema(schema)) {
            return "calls " + shown + ", a function of the system schema " + std::string(schema);
        }
        if (std::optional<std::string> why = denied_function(schema, name)) {
            return "calls " + shown + ", which " + *why;
        }
        return std::nullopt;  // the application's own function
    }
    // Names in the parse tree are already lower case unless quoted, and a quoted "Lower" is not
    // pg_catalog's lower: compare exactly.
    auto allowed = allowlist().find(std::string(name));
    if (allowed != allowlist().end()) {
        if (allowed->second == Scope::insert_only && site != CallSite::insert_in_change) {
            return "calls " + shown +
                   ", which changes a sequence; only an INSERT or MERGE of a change file may "
                   "draw a key";
        }
        return std::nullopt;
    }
    std::string reason =
        "calls " + shown + ", which is not one of the data functions a change may call";
    if (std::optional<std::string> why = denied_function(schema, name)) {
        reason += " (it " + *why + ")";
    }
    return reason;
}

std::size_t allowed_function_count() {
    return allowlist().size();
}

std::vector<std::string> allowed_function_names() {
    std::vector<std::string> names;
    for (const auto& [name, scope] : allowlist()) {
        names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace datafix::sql::internal
