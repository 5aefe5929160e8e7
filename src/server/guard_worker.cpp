// The guard worker and the server's side of it (see guard_worker.hpp). The analysis crosses the
// pipe whole (statement text included): it goes from one datafix process to its parent and is
// never logged.
#include "server/guard_worker.hpp"

#include <cstdlib>
#include <cstring>
#include <istream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <ostream>
#include <vector>

#include "core/error.hpp"
#include "core/fault.hpp"
#include "core/process.hpp"

namespace datafix::server {

namespace {

constexpr std::chrono::milliseconds kWorkerDeadline{20000};
// An analysis is a small multiple of its text, which sql::kMaxFileBytes bounds.
constexpr std::size_t kMaxAnswerBytes = 32 * 1024 * 1024;
// Server threads have 8 MiB of stack; the worker less, so text the worker could analyse does not
// overflow a server thread when the executor analyses it again.
constexpr std::uint64_t kWorkerStackBytes = 4 * 1024 * 1024;

sql::FileRole role_from(const std::string& name) {
    if (name == sql::role_name(sql::FileRole::change)) {
        return sql::FileRole::change;
    }
    if (name == sql::role_name(sql::FileRole::verify)) {
        return sql::FileRole::verify;
    }
    throw Error(ErrorCode::usage, "unknown role \"" + name + "\"", "use change or verify");
}

sql::StatementKind kind_from(const std::string& name) {
    for (int k = static_cast<int>(sql::StatementKind::insert);
         k <= static_cast<int>(sql::StatementKind::other); ++k) {
        const auto kind = static_cast<sql::StatementKind>(k);
        if (sql::kind_name(kind) == name) {
            return kind;
        }
    }
    throw Error(ErrorCode::internal, "the guard worker named an unknown statement kind");
}

nlohmann::json statement_json(const sql::Statement& s) {
    return {{"index", s.index},
            {"text", s.text},
            {"line", s.line},
            {"column", s.column},
            {"kind", sql::kind_name(s.kind)},
            {"tables_written", s.tables_written},
            {"tables_read", s.tables_read},
            {"has_where", s.has_where},
            {"where_constant_true", s.where_constant_true},
            {"normalized", s.normalized},
            {"fingerprint", s.fingerprint},
            {"verdict",
             {{"allowed", s.verdict.allowed},
              {"rule", s.verdict.rule},
              {"reason", s.verdict.reason},
              {"hint", s.verdict.hint}}}};
}

sql::Statement statement_from(const nlohmann::json& j) {
    sql::Statement s;
    s.index = j.at("index").get<int>();
    s.text = j.at("text").get<std::string>();
    s.line = j.at("line").get<int>();
    s.column = j.at("column").get<int>();
    s.kind = kind_from(j.at("kind").get<std::string>());
    s.tables_written = j.at("tables_written").get<std::vector<std::string>>();
    s.tables_read = j.at("tables_read").get<std::vector<std::string>>();
    s.has_where = j.at("has_where").get<bool>();
    s.where_constant_true = j.at("where_constant_true").get<bool>();
    s.normalized = j.at("normalized").get<std::string>();
    s.fingerprint = j.at("fingerprint").get<std::string>();
    const auto& v = j.at("verdict");
    s.verdict.allowed = v.at("allowed").get<bool>();
    s.verdict.rule = v.at("rule").get<std::string>();
    s.verdict.reason = v.at("reason").get<std::string>();
    s.verdict.hint = v.at("hint").get<std::string>();
    return s;
}

nlohmann::json analysis_json(const sql::Analysis& a) {
    nlohmann::json statements = nlohmann::json::array();
    for (const auto& s : a.statements) {
        statements.push_back(statement_json(s));
    }
    return {{"file", a.file},
            {"sha256", a.sha256},
            {"role", sql::role_name(a.role)},
            {"statements", statements}};
}

sql::Analysis analysis_from(const nlohmann::json& j) {
    sql::Analysis a;
    a.file = j.at("file").get<std::string>();
    a.sha256 = j.at("sha256").get<std::string>();
    a.role = role_from(j.at("role").get<std::string>());
    for (const auto& s : j.at("statements")) {
        a.statements.push_back(statement_from(s));
    }
    return a;
}

std::string signal_text(int signal) {
    const char* name = sigabbrev_np(signal);
    return name != nullptr ? "SIG" + std::string(name) : "signal " + std::to_string(signal);
}

[[noreturn]] void refuse(const std::string& file_name, const std::string& why) {
    throw Error(
        ErrorCode::refused,
        "the guard could not analyse " + file_name + ": " + why + "; the change was not accepted",
        "simplify the statements (deep nesting, very long expressions or lists) and "
        "upload again; if the file is ordinary SQL, report it as a datafix bug");
}

}  // namespace

sql::Analysis analyze_in_worker(std::string_view text, sql::FileRole role,
                                const std::string& file_name) {
    process::Spec spec;
    // "--file=NAME": a name that starts with '-' stays a value.
    spec.argv = {"/proc/self/exe", "guard-worker", "--role=" + std::string(sql::role_name(role)),
                 "--file=" + file_name};
    // The worker needs nothing from the server's environment; the test-only fault points travel,
    // and so do a sanitizer build's options, so a finding in the worker is reported where the
    // server's own go (tests/sanitizers/run_test.sh) instead of only refusing the change.
    for (const char* name :
         {"DATAFIX_FAULT", "ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS"}) {
        if (const char* value = std::getenv(name); value != nullptr) {
            spec.environment.push_back(std::string(name) + "=" + value);
        }
    }
    spec.input = std::string(text);
    spec.deadline = kWorkerDeadline;
    spec.max_output_bytes = kMaxAnswerBytes;
    spec.max_stack_bytes = kWorkerStackBytes;
    const process::Result r = process::run(spec);
    if (!r.started()) {
        throw Error(ErrorCode::internal, "cannot start the guard worker: " + r.setup_failure(spec),
                    "check that the datafix binary can be executed by the server's user");
    }
    if (r.timed_out) {
        refuse(file_name, "it took longer than " + std::to_string(kWorkerDeadline.count() / 1000) +
                              " seconds");
    }
    if (r.signal != 0) {
        refuse(file_name, "the analysis crashed (" + signal_text(r.signal) + ")");
    }
    if (r.exit_status != 0 || r.out_truncated) {
        refuse(file_name,
               "the analysis ended abnormally (exit status " + std::to_string(r.exit_status) + ")");
    }
    const auto answer = nlohmann::json::parse(r.out, nullptr, false);
    if (answer.is_discarded() || !answer.is_object()) {
        refuse(file_name, "the analysis gave no readable answer");
    }
    if (auto error = answer.find("error"); error != answer.end()) {
        throw Error(static_cast<ErrorCode>(error->value("code", 1)),
                    error->value("message", std::string()), error->value("hint", std::string()));
    }
    try {
        return analysis_from(answer.at("analysis"));
    } catch (const nlohmann::json::exception&) {
        refuse(file_name, "the analysis gave an incomplete answer");
    }
}

int run_guard_worker(const std::string& role, const std::string& file_name, std::istream& in,
                     std::ostream& out) {
    nlohmann::json answer;
    try {
        const sql::FileRole file_role = role_from(role);
        const std::string text{std::istreambuf_iterator<char>(in),
                               std::istreambuf_iterator<char>()};
        fault_point("guard.worker");
        answer["analysis"] = analysis_json(sql::analyze(text, file_role, file_name));
    } catch (const Error& e) {
        answer = {
            {"error",
             {{"code", static_cast<int>(e.code())}, {"message", e.message()}, {"hint", e.hint()}}}};
    } catch (const std::exception& e) {
        answer = {{"error",
                   {{"code", static_cast<int>(ErrorCode::internal)},
                    {"message", std::string("the guard failed: ") + e.what()},
                    {"hint", ""}}}};
    }
    out << answer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out.flush();
    return out ? 0 : 1;
}

}  // namespace datafix::server
