// The SQL guard's public face: split a change or verify file into statements, classify each one and
// give it a verdict under datafix's policy. Offline and pure: no server, no database, no I/O except
// reading the file in analyze_file.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace datafix::sql {

// A change file holds the data change itself; a verify file holds the read-only queries the pair
// looks at before and after it.
enum class FileRole { change, verify };

enum class StatementKind {
    insert,
    update,
    delete_,
    merge,
    select,
    ddl,
    transaction,
    set,
    copy,
    do_block,
    call,
    utility,
    meta_command,
    other,
};

// An expected outcome, so a value: `rule` names the refusing rule (empty when allowed), `reason`
// says what is wrong and `hint` what to do instead.
struct Verdict {
    bool allowed = true;
    std::string rule;
    std::string reason;
    std::string hint;
};

// A function call as written: pre-flight resolves it on the target as the role would (search_path,
// overloads by argument count) and vouches for it or refuses it.
struct FunctionCall {
    std::string schema;  // empty when unqualified
    std::string name;
    int arguments = 0;  // positional and named; count(*) has none
    bool operator==(const FunctionCall&) const = default;
};

// "schema.name(2 arguments)" or "name(1 argument)": a call named in findings, never its values.
std::string call_text(const FunctionCall& call);

struct Statement {
    int index = 0;     // 1-based, in file order
    std::string text;  // exact source slice, without the trailing ';' and surrounding comments
    int line = 0;      // 1-based start of the statement's first token
    int column = 0;    // 1-based, counted in characters (UTF-8 code points)
    StatementKind kind = StatementKind::other;
    std::vector<std::string> tables_written;  // "schema.table" or "table" as written, CTEs too
    // Relations the statement reads (FROM, USING, joins, subqueries), as written; a CTE's name
    // appears here too, since only the catalog can tell it from a table.
    std::vector<std::string> tables_read;
    // Every function call anywhere in the statement, first seen first, each once.
    std::vector<FunctionCall> calls;
    bool has_where = false;  // UPDATE/DELETE: a WHERE; MERGE: its ON condition
    bool where_constant_true = false;
    std::string normalized;   // literals replaced by $n: the only form ever shown or logged
    std::string fingerprint;  // libpg_query fingerprint (hex): equal for the same statement shape
    Verdict verdict;
};

struct Analysis {
    std::string file;
    std::string sha256;  // of the file's exact bytes
    FileRole role = FileRole::change;
    std::vector<Statement> statements;

    bool all_allowed() const;
};

// Larger files are refused as invalid input: a hand-written data change is a few kilobytes, and a
// limit keeps a mistaken dump file from being parsed and echoed.
inline constexpr std::size_t kMaxFileBytes = 1024 * 1024;

// Deeper nesting is refused as invalid input before the parser sees it (see
// sql/internal/nesting.hpp for what counts): PostgreSQL's parser and everything that reads its
// tree recurse once per level, and a hand-written change nests a few levels, not hundreds.
inline constexpr int kMaxNesting = 1000;

// Throws datafix::Error(invalid_input) naming file:line:column for an empty file (or only
// comments), a NUL byte, invalid UTF-8, a syntax error, nesting deeper than kMaxNesting or a file
// over kMaxFileBytes.
Analysis analyze(std::string_view text, FileRole role, const std::string& file_name);

// As analyze, reading the file first; an unreadable or missing file is invalid input too.
Analysis analyze_file(const std::string& path, FileRole role);

std::string_view kind_name(StatementKind kind);
std::string_view role_name(FileRole role);

}  // namespace datafix::sql
