// `datafix check CHANGE.sql [--verify VERIFY.sql] [--output text|json]`: the SQL guard, offline.
// Exit 0 when every statement is allowed, 3 (refused) when any is refused, 4 (invalid_input) for
// a file that cannot be read or parsed (thrown, and mapped to the status by app.cpp). Output shows
// normalized statements only: the exact text may hold private data, so it is hashed, not printed.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "sql/analysis.hpp"
#include "sql/analysis_json.hpp"

namespace datafix::cli {

namespace {

struct CheckOptions {
    std::string change_file;
    std::string verify_file;
    std::string output = "text";
};

std::string where_text(const sql::Statement& s) {
    switch (s.kind) {
        case sql::StatementKind::update:
        case sql::StatementKind::delete_:
        case sql::StatementKind::merge:
            break;
        default:
            return "";
    }
    if (!s.has_where) {
        return "absent";
    }
    return s.where_constant_true ? "present, constant-true" : "present, not constant-true";
}

void print_statement(const sql::Analysis& a, const sql::Statement& s, std::ostream& out) {
    std::string verdict = s.verdict.allowed ? "allowed" : "REFUSED (" + s.verdict.rule + ")";
    out << "\n[" << s.index << "] " << a.file << ":" << s.line << ":" << s.column << "  "
        << sql::kind_name(s.kind) << "  " << verdict << "\n";
    if (!s.tables_written.empty()) {
        std::string tables;
        for (const std::string& t : s.tables_written) {
            tables += (tables.empty() ? "" : ", ") + t;
        }
        out << "    writes       " << tables << "\n";
    }
    if (std::string where = where_text(s); !where.empty()) {
        out << "    where        " << where << "\n";
    }
    out << "    normalized   " << s.normalized << "\n";
    if (!s.fingerprint.empty()) {
        out << "    fingerprint  " << s.fingerprint << "\n";
    }
    if (!s.verdict.allowed) {
        out << "    reason       " << s.verdict.reason << "\n";
        out << "    HINT: " << s.verdict.hint << "\n";
    }
}

void print_analysis(const sql::Analysis& a, std::ostream& out) {
    std::size_t refused = 0;
    for (const sql::Statement& s : a.statements) {
        refused += s.verdict.allowed ? 0 : 1;
    }
    out << sql::role_name(a.role) << " file  " << a.file << "\n";
    out << "sha-256      " << a.sha256 << "\n";
    out << "statements   " << a.statements.size() << ", "
        << (refused == 0 ? "all allowed" : std::to_string(refused) + " refused") << "\n";
    for (const sql::Statement& s : a.statements) {
        print_statement(a, s, out);
    }
}

int run_check(const CheckOptions& options) {
    sql::Analysis change = sql::analyze_file(options.change_file, sql::FileRole::change);
    std::optional<sql::Analysis> verify;
    if (!options.verify_file.empty()) {
        verify = sql::analyze_file(options.verify_file, sql::FileRole::verify);
    }
    bool allowed = change.all_allowed() && (!verify || verify->all_allowed());
    if (options.output == "json") {
        nlohmann::json j = {{"change", sql::to_json(change)},
                            {"verify", verify ? sql::to_json(*verify) : nlohmann::json()},
                            {"all_allowed", allowed}};
        std::cout << j.dump(2) << "\n";
    } else {
        print_analysis(change, std::cout);
        if (verify) {
            std::cout << "\n";
            print_analysis(*verify, std::cout);
        }
        std::cout << "\nStatements are shown normalized (literals as $n); the exact bytes are "
                     "identified by their SHA-256.\n";
        std::cout << (allowed ? "result: all statements allowed\n"
                              : "result: refused (exit status 3)\n");
    }
    return exit_status(allowed ? ErrorCode::ok : ErrorCode::refused);
}

}  // namespace

void register_check(CLI::App& root, Action& action) {
    // Shared: CLI11 writes the parsed values into it and the stored action (a copyable
    // std::function) reads them after parsing, both after this function has returned.
    auto options = std::make_shared<CheckOptions>();
    auto* cmd =
        root.add_subcommand("check", "analyse a change file offline (no server, no database)");
    cmd->add_option("change", options->change_file,
                    "the change file: INSERT, UPDATE, DELETE or MERGE statements")
        ->required();
    cmd->add_option("--verify", options->verify_file,
                    "a verify file: read-only SELECT queries checked alongside the change");
    cmd->add_option("--output", options->output, "text (default) or json")
        ->check(CLI::IsMember({"text", "json"}));
    cmd->footer(
        "Exit status: 0 all statements allowed, 3 any statement refused, 4 a file is unreadable, "
        "empty, not UTF-8, over 1 MiB, nested too deeply or not valid SQL.");
    cmd->callback([&action, options] { action = [options] { return run_check(*options); }; });
}

}  // namespace datafix::cli
