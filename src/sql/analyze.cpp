// analyze(): from the bytes of a file to its statements with verdicts. Meta-commands are found
// with the scanner (a backslash outside strings and comments), reported as statements of their
// own and blanked out, keeping every offset, so the rest of the file still parses and every
// position still points into the original file.
#include <pg_query.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>

#include "core/error.hpp"
#include "core/hash.hpp"
#include "core/threads.hpp"
#include "sql/analysis.hpp"
#include "sql/internal/nesting.hpp"
#include "sql/internal/pg_tree.hpp"
#include "sql/internal/source_text.hpp"
#include "sql/internal/statement_rules.hpp"

namespace datafix::sql {

namespace {

using internal::Position;
using internal::SourceText;
using internal::Token;

struct Span {
    std::size_t start = 0;
    std::size_t end = 0;  // exclusive
};

// One line, one space between tokens and no comments: a comment inside a statement can hold
// private data as easily as a literal, and the normalized form is what logs and messages carry.
std::string compact(const std::string& sql) {
    // Most statements are already compact; scanning them again would cost as much as parsing.
    bool plain = sql.find_first_of("\n\r\t\f\v") == std::string::npos &&
                 sql.find("  ") == std::string::npos && sql.find("--") == std::string::npos &&
                 sql.find("/*") == std::string::npos && !sql.starts_with(' ') &&
                 !sql.ends_with(' ');
    if (plain) {
        return sql;
    }
    internal::ScanOutcome scanned = internal::scan(sql);
    if (scanned.failure) {
        return {};
    }
    std::string out;
    int previous_end = -1;
    for (const Token& t : scanned.tokens) {
        if (t.is_comment()) {
            continue;
        }
        if (previous_end >= 0 && t.start > previous_end) {
            out += ' ';
        }
        out += sql.substr(static_cast<std::size_t>(t.start),
                          static_cast<std::size_t>(t.end - t.start));
        previous_end = t.end;
    }
    return out;
}

std::string normalize(const std::string& text) {
    PgQueryNormalizeResult result = pg_query_normalize(text.c_str());
    std::string normalized = result.error == nullptr ? result.normalized_query : "";
    pg_query_free_normalize_result(result);
    return compact(normalized);
}

std::string fingerprint(const std::string& text) {
    PgQueryFingerprintResult result = pg_query_fingerprint(text.c_str());
    std::string hex = result.error == nullptr ? result.fingerprint_str : "";
    pg_query_free_fingerprint_result(result);
    return hex;
}

// PostgreSQL quotes the token it stopped at; that token may be a literal holding private data, so
// it is shown only when the scanner says it is a keyword, identifier or operator.
std::string redacted_message(const std::string& message, const std::vector<Token>& tokens,
                             std::size_t failure_byte) {
    constexpr std::string_view kNear = " at or near \"";
    std::size_t near = message.find(kNear);
    if (near == std::string::npos) {
        return message;
    }
    auto token = std::find_if(tokens.begin(), tokens.end(), [&](const Token& t) {
        return static_cast<std::size_t>(t.start) <= failure_byte &&
               failure_byte < static_cast<std::size_t>(t.end);
    });
    if (token != tokens.end() && !token->is_literal()) {
        return message;
    }
    return message.substr(0, near) + " at a literal value (not shown)";
}

[[noreturn]] void throw_syntax_error(const SourceText& source,
                                     const internal::ParseFailure& failure,
                                     const std::vector<Token>& tokens) {
    std::size_t byte = source.byte_of_character(failure.cursor_position);
    throw Error(
        ErrorCode::invalid_input,
        source.where(source.at_byte(byte)) + ": " + redacted_message(failure.message, tokens, byte),
        "fix the SQL at that position and run `datafix check` again; the file must be "
        "plain SQL (psql variables such as :name are not expanded)");
}

class MetaCommandFinder {
  public:
    explicit MetaCommandFinder(const SourceText& source) : source_(source), sql_(source.bytes()) {}

    // Blanks every meta-command (backslash to end of line) and returns their spans; throws for a
    // scanner failure that no meta-command explains. Every pass scans the whole file, and a
    // meta-command whose arguments stop the scanner costs a pass of its own: the passes are
    // budgeted, so that a file of thousands of them cannot cost thousands of scans.
    std::vector<Span> find() {
        while (true) {
            internal::ScanOutcome scanned = scan_once();
            if (!scanned.failure) {
                if (!blank_backslashes(scanned.tokens)) {
                    tokens_ = std::move(scanned.tokens);
                    return spans_;
                }
                continue;
            }
            if (!blank_meta_command_before(*scanned.failure)) {
                throw_syntax_error(source_, *scanned.failure, {});
            }
        }
    }

    // The tokens of the blanked file, from the last pass.
    std::vector<Token>& tokens() { return tokens_; }

    const std::string& blanked() const { return sql_; }

  private:
    // Bytes all passes together may scan: 8 passes over a file of the largest size (each pass
    // about 0.1 s), more over a smaller one. A meta-command with a quote in its arguments costs a
    // pass of its own.
    static constexpr std::size_t kScanBudgetBytes = 8 * kMaxFileBytes;

    internal::ScanOutcome scan_once(std::size_t length = std::string::npos) {
        std::size_t bytes = std::min(length, sql_.size());
        scanned_bytes_ += bytes;
        if (scanned_bytes_ > kScanBudgetBytes) {
            throw Error(ErrorCode::invalid_input,
                        source_.where(source_.at_byte(spans_.empty() ? 0 : spans_.back().start)) +
                            ": too many psql meta-commands whose arguments are not SQL (such as "
                            "\\echo with a quote); datafix stopped reading them",
                        "remove the meta-commands: datafix runs plain SQL statements, not psql "
                        "scripts");
        }
        return internal::scan(length == std::string::npos ? sql_ : sql_.substr(0, length));
    }

    void blank_line_from(std::size_t start) {
        std::size_t end = sql_.find('\n', start);
        end = end == std::string::npos ? sql_.size() : end;
        for (std::size_t i = start; i < end; ++i) {
            sql_[i] = ' ';
        }
        spans_.push_back(Span{start, end});
    }

    // Blanks the meta-commands the tokens show, in file order, up to the first whose arguments
    // could have changed how the rest was scanned (a quote, dollar or comment opener: `\echo
    // it's` opens a string that swallows the text below it, and a backslash there is no longer a
    // token); the next pass scans what follows afresh.
    bool blank_backslashes(const std::vector<Token>& tokens) {
        bool any = false;
        for (const Token& t : tokens) {
            // A meta-command runs to the end of its line, so later backslashes on it are already
            // blank.
            if (t.kind == '\\' && sql_[static_cast<std::size_t>(t.start)] == '\\') {
                auto start = static_cast<std::size_t>(t.start);
                bool shifts = changes_scanning(start);
                blank_line_from(start);
                any = true;
                if (shifts) {
                    break;
                }
            }
        }
        return any;
    }

    bool changes_scanning(std::size_t start) const {
        std::size_t end = sql_.find('\n', start);
        std::string_view line(sql_.data() + start,
                              (end == std::string::npos ? sql_.size() : end) - start);
        return line.find_first_of("'\"$") != std::string_view::npos ||
               line.find("/*") != std::string_view::npos;
    }

    // A meta-command's arguments are not SQL (`\echo it's done`) and can stop the scanner far
    // below it. Walk back: a failing line that starts with a backslash is a meta-command; else the
    // text before that line either scans (and its backslashes are meta-commands) or fails earlier,
    // where the search goes on. Positions only decrease, so this ends.
    bool blank_meta_command_before(const internal::ParseFailure& failure) {
        std::size_t byte =
            std::min(source_.byte_of_character(failure.cursor_position), sql_.size());
        while (true) {
            std::size_t line_start = byte == 0 ? std::string::npos : sql_.rfind('\n', byte - 1);
            line_start = line_start == std::string::npos ? 0 : line_start + 1;
            std::size_t first = sql_.find_first_not_of(" \t\r", line_start);
            if (first != std::string::npos && sql_[first] == '\\') {
                blank_line_from(first);
                return true;
            }
            if (line_start == 0) {
                return false;
            }
            internal::ScanOutcome prefix = scan_once(line_start);
            if (!prefix.failure) {
                return blank_backslashes(prefix.tokens);
            }
            std::size_t earlier = source_.byte_of_character(prefix.failure->cursor_position);
            if (earlier >= line_start) {
                return false;
            }
            byte = earlier;
        }
    }

    const SourceText& source_;
    std::string sql_;
    std::vector<Span> spans_;
    std::vector<Token> tokens_;
    std::size_t scanned_bytes_ = 0;
};

std::string lead_words(const std::string& sql, const std::vector<Token>& tokens) {
    std::string lead;
    for (std::size_t i = 0; i < tokens.size() && i < 2 && tokens[i].keyword; ++i) {
        std::string word = sql.substr(static_cast<std::size_t>(tokens[i].start),
                                      static_cast<std::size_t>(tokens[i].end - tokens[i].start));
        std::transform(word.begin(), word.end(), word.begin(),
                       [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
        lead += (lead.empty() ? "" : " ") + word;
    }
    return lead.empty() ? "the statement" : lead;
}

Statement meta_command_statement(const SourceText& source, Span span) {
    Statement s;
    std::string line = source.bytes().substr(span.start, span.end - span.start);
    line.erase(line.find_last_not_of(" \t\r") + 1);
    s.text = line;
    Position at = source.at_byte(span.start);
    s.line = at.line;
    s.column = at.column;
    s.kind = StatementKind::meta_command;
    // Only the command's name: its arguments may hold values.
    std::size_t name_end = line.find_first_of(" \t", 1);
    s.normalized = line.substr(0, name_end);
    s.verdict = internal::refuse(
        "meta_command",
        "psql meta-command " + s.normalized + " at " + source.where(at) +
            " is not SQL; datafix runs statements itself, not through psql",
        "remove it: datafix runs the file in its own transaction with the configured role and "
        "settings, and reports each statement's row count");
    return s;
}

Statement sql_statement(const SourceText& source, const std::string& sql,
                        const std::vector<Token>& tokens, const PgQuery__Node* node,
                        FileRole role) {
    Statement s;
    auto start = static_cast<std::size_t>(tokens.front().start);
    auto end = static_cast<std::size_t>(tokens.back().end);
    s.text = source.bytes().substr(start, end - start);
    Position at = source.at_byte(start);
    s.line = at.line;
    s.column = at.column;
    internal::StatementFacts facts = internal::examine(node, role, lead_words(sql, tokens));
    s.kind = facts.kind;
    s.tables_written = std::move(facts.tables_written);
    s.tables_read = std::move(facts.tables_read);
    s.calls = std::move(facts.calls);
    s.has_where = facts.has_where;
    s.where_constant_true = facts.where_constant_true;
    s.verdict = std::move(facts.verdict);
    return s;
}

// Files this large are parsed in kPieces pieces, by as many threads as the machine has cores for
// (kPieces at most); below it, a thread costs more than it saves. The number of pieces does not
// depend on the machine, so every machine reads a file the same way.
constexpr std::size_t kParallelBytes = 64 * 1024;
constexpr unsigned kPieces = 4;
// At least a server thread's stack: any file the guard accepts parses on any thread.
constexpr std::size_t kThreadStackBytes = 8 * 1024 * 1024;

// A statement as the scanner sees it: the non-comment tokens between two semicolons. It is the
// statement the parser finds there unless a semicolon sits inside one (a rule's action list,
// BEGIN ATOMIC); merge_statements() trusts it only where the parser agrees.
struct ScannedStatement {
    std::size_t start = 0;  // bytes, end exclusive
    std::size_t end = 0;
    std::size_t after = 0;  // just past the semicolon that ends it (or the end of the file)
};

std::vector<ScannedStatement> scanned_statements(const std::vector<Token>& tokens,
                                                 std::size_t file_end) {
    std::vector<ScannedStatement> out;
    std::optional<ScannedStatement> current;
    for (const Token& t : tokens) {
        if (t.is_comment()) {
            continue;
        }
        if (t.kind == PG_QUERY__TOKEN__ASCII_59) {
            if (current) {
                current->after = static_cast<std::size_t>(t.end);
                out.push_back(*current);
                current.reset();
            }
            continue;
        }
        if (!current) {
            current = ScannedStatement{static_cast<std::size_t>(t.start), 0, 0};
        }
        current->end = static_cast<std::size_t>(t.end);
    }
    if (current) {
        current->after = file_end;
        out.push_back(*current);
    }
    return out;
}

// The bytes [begin, end) of the file, parsed on their own: statements cut at semicolons parse
// alike in a piece or in the whole.
struct Piece {
    std::size_t begin = 0;
    std::size_t end = 0;
    std::optional<internal::ParseOutcome> parsed;
    std::vector<std::pair<std::size_t, Statement>> statements;
};

// Up to `count` pieces of about equal size, each ending after a semicolon, together the file.
std::vector<Piece> pieces_of(const std::vector<ScannedStatement>& scanned, std::size_t file_end,
                             std::size_t count) {
    std::vector<Piece> pieces;
    std::size_t begin = 0;
    for (const ScannedStatement& s : scanned) {
        std::size_t target = file_end * (pieces.size() + 1) / count;
        if (pieces.size() + 1 < count && s.after >= target && s.after < file_end) {
            pieces.push_back(Piece{begin, s.after, std::nullopt, {}});
            begin = s.after;
        }
    }
    pieces.push_back(Piece{begin, file_end, std::nullopt, {}});
    return pieces;
}

// The statements of `tree`, parsed from the bytes at `offset` of the blanked file, each examined.
std::vector<std::pair<std::size_t, Statement>> statements_of(
    const PgQuery__ParseResult& tree, std::size_t offset, std::size_t piece_end,
    const SourceText& source, const std::string& sql, const std::vector<Token>& tokens,
    FileRole role) {
    std::vector<std::pair<std::size_t, Statement>> out;
    for (std::size_t i = 0; i < tree.n_stmts; ++i) {
        const PgQuery__RawStmt& raw = *tree.stmts[i];
        std::size_t begin = offset + static_cast<std::size_t>(raw.stmt_location);
        std::size_t end =
            raw.stmt_len == 0 ? piece_end : begin + static_cast<std::size_t>(raw.stmt_len);
        // Tokens are in file order: find the statement's first by binary search, not by a pass
        // over the whole file per statement.
        auto first = std::lower_bound(
            tokens.begin(), tokens.end(), begin,
            [](const Token& t, std::size_t at) { return static_cast<std::size_t>(t.start) < at; });
        std::vector<Token> own;
        for (auto t = first; t != tokens.end() && static_cast<std::size_t>(t->end) <= end; ++t) {
            if (!t->is_comment()) {
                own.push_back(*t);
            }
        }
        if (own.empty()) {
            continue;
        }
        out.emplace_back(static_cast<std::size_t>(own.front().start),
                         sql_statement(source, sql, own, raw.stmt, role));
    }
    return out;
}

// Every SQL statement of the blanked file, examined, normalized and fingerprinted. A large file is
// cut at semicolons into pieces that threads parse at once, while other threads normalize and
// fingerprint the statements the scanner found. A piece that does not parse (a semicolon inside a
// statement, or a syntax error) sends the whole file through one parse, which reports the error
// as before; a statement the scanner saw differently from the parser is normalized afresh.
std::vector<std::pair<std::size_t, Statement>> sql_statements(const SourceText& source,
                                                              const std::string& sql,
                                                              const std::vector<Token>& tokens,
                                                              FileRole role) {
    std::vector<ScannedStatement> scanned = scanned_statements(tokens, sql.size());
    bool large = sql.size() >= kParallelBytes;
    unsigned threads = large ? worker_threads(kPieces) : 1;
    std::vector<Piece> pieces = pieces_of(scanned, sql.size(), large ? kPieces : 1);
    std::vector<std::string> normalized(scanned.size());
    std::vector<std::string> fingerprints(scanned.size());
    auto text_of = [&](const ScannedStatement& s) {
        return source.bytes().substr(s.start, s.end - s.start);
    };
    for_each_item(
        pieces.size() + 2 * scanned.size(), threads, kThreadStackBytes, [&](std::size_t item) {
            if (item < pieces.size()) {
                Piece& piece = pieces[item];
                piece.parsed = internal::parse(sql.substr(piece.begin, piece.end - piece.begin));
                if (!piece.parsed->failure) {
                    piece.statements = statements_of(*piece.parsed->tree, piece.begin, piece.end,
                                                     source, sql, tokens, role);
                }
                return;
            }
            std::size_t index = (item - pieces.size()) / 2;
            if ((item - pieces.size()) % 2 == 0) {
                normalized[index] = normalize(text_of(scanned[index]));
            } else {
                fingerprints[index] = fingerprint(text_of(scanned[index]));
            }
        });

    std::vector<std::pair<std::size_t, Statement>> out;
    bool all_parsed = std::all_of(pieces.begin(), pieces.end(),
                                  [](const Piece& p) { return !p.parsed->failure; });
    if (all_parsed) {
        for (Piece& piece : pieces) {
            std::move(piece.statements.begin(), piece.statements.end(), std::back_inserter(out));
        }
    } else {
        internal::ParseOutcome whole =
            pieces.size() == 1 ? std::move(*pieces.front().parsed) : internal::parse(sql);
        if (whole.failure) {
            throw_syntax_error(source, *whole.failure, tokens);
        }
        out = statements_of(*whole.tree, 0, sql.size(), source, sql, tokens, role);
    }
    for (auto& [offset, statement] : out) {
        auto seen = std::lower_bound(
            scanned.begin(), scanned.end(), offset,
            [](const ScannedStatement& s, std::size_t at) { return s.start < at; });
        std::size_t index = static_cast<std::size_t>(seen - scanned.begin());
        if (seen != scanned.end() && seen->start == offset &&
            seen->end - seen->start == statement.text.size()) {
            statement.normalized = std::move(normalized[index]);
            statement.fingerprint = std::move(fingerprints[index]);
        } else {
            statement.normalized = normalize(statement.text);
            statement.fingerprint = fingerprint(statement.text);
        }
    }
    return out;
}

}  // namespace

Analysis analyze(std::string_view text, FileRole role, const std::string& file_name) {
    SourceText source(text, file_name);
    Analysis analysis;
    analysis.file = file_name;
    analysis.sha256 = sha256_hex(text);
    analysis.role = role;

    MetaCommandFinder finder(source);
    std::vector<Span> meta_commands = finder.find();
    const std::string& sql = finder.blanked();
    std::vector<Token> tokens = std::move(finder.tokens());
    if (std::optional<internal::NestingExcess> excess =
            internal::nesting_excess(tokens, kMaxNesting)) {
        std::string what =
            excess->subquery
                ? "nests more than " + std::to_string(internal::kMaxSubqueryNesting) +
                      " subqueries deep here"
                : "nests more than " + std::to_string(kMaxNesting) +
                      " levels deep here (parentheses, CASE, NOT and chained operators)";
        throw Error(ErrorCode::invalid_input,
                    source.where(source.at_byte(excess->byte)) + ": the statement " + what +
                        ", which datafix does not parse",
                    "write the condition flat, as `id IN (1, 2, 3)` or `a OR b OR c`, use joins or "
                    "WITH for subqueries, and split long chains of operators; a hand-written "
                    "change never nests this deep");
    }
    std::vector<std::pair<std::size_t, Statement>> ordered =
        sql_statements(source, sql, tokens, role);
    for (Span span : meta_commands) {
        ordered.emplace_back(span.start, meta_command_statement(source, span));
    }
    std::stable_sort(ordered.begin(), ordered.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [offset, statement] : ordered) {
        statement.index = static_cast<int>(analysis.statements.size()) + 1;
        analysis.statements.push_back(std::move(statement));
    }
    if (analysis.statements.empty()) {
        throw Error(ErrorCode::invalid_input,
                    source.where(Position{1, 1}) +
                        ": no SQL statement in the file (it is empty or holds only comments)",
                    role == FileRole::change
                        ? "write the change as INSERT, UPDATE, DELETE or MERGE statements"
                        : "write the verify queries as SELECT statements");
    }
    return analysis;
}

Analysis analyze_file(const std::string& path, FileRole role) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Error(ErrorCode::invalid_input, path + ": cannot open the file for reading",
                    "check the path and the file's permissions");
    }
    // Read one byte past the limit, enough to report an oversized file without reading it all.
    std::string bytes(kMaxFileBytes + 1, '\0');
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (in.bad()) {
        throw Error(ErrorCode::invalid_input, path + ": cannot read the file",
                    "check that it is a readable regular file");
    }
    bytes.resize(static_cast<std::size_t>(in.gcount()));
    return analyze(bytes, role, path);
}

std::string call_text(const FunctionCall& call) {
    std::string args =
        std::to_string(call.arguments) + (call.arguments == 1 ? " argument" : " arguments");
    return (call.schema.empty() ? "" : call.schema + ".") + call.name + "(" + args + ")";
}

bool Analysis::all_allowed() const {
    return std::all_of(statements.begin(), statements.end(),
                       [](const Statement& s) { return s.verdict.allowed; });
}

}  // namespace datafix::sql
