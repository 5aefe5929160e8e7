// bench_guard: what the SQL guard costs on the largest and deepest files it accepts or refuses.
// For each input it times sql::analyze in-process (the median of a few runs) and one run of the
// `datafix check` command on the same bytes written to a file, and prints a table with the exit
// status. Not part of ctest: figures, no assertions.
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "sql/analysis.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using datafix::sql::kMaxFileBytes;

struct Input {
    std::string name;
    std::string sql;
};

// Repeats `unit` as often as fits in `bytes`, then `tail`.
std::string fill(const std::string& head, const std::string& unit, const std::string& tail,
                 std::size_t bytes) {
    std::string out = head;
    while (out.size() + unit.size() + tail.size() <= bytes) {
        out += unit;
    }
    return out + tail;
}

std::vector<Input> inputs() {
    std::vector<Input> out;
    std::string update =
        "UPDATE app_public.app_user SET email_address = 'someone@example.com', given_name = "
        "initcap(given_name) WHERE id = 12345 AND archived_at IS NULL;\n";
    out.push_back({"1 MiB, ~8,000 UPDATEs", fill("", update, "", kMaxFileBytes)});
    std::string insert =
        "INSERT INTO app_public.application_status (application_id, status, change_reason) "
        "VALUES (42, 'submitted', 'bulk'), (43, 'submitted', 'bulk');";
    out.push_back({"1 MiB, ~7,000 INSERTs, one line", fill("", insert, "", kMaxFileBytes)});
    out.push_back(
        {"1 MiB OR chain, one DELETE", fill("DELETE FROM app_public.app_user WHERE id = 0",
                                            " OR id = 123456", ";", kMaxFileBytes)});
    out.push_back(
        {"1 MiB IN list, one DELETE",
         fill("DELETE FROM app_public.app_user WHERE id IN (0", ", 123456", ");", kMaxFileBytes)});
    out.push_back({"1 MiB of meta-commands",
                   fill("", "\\echo it's done\n", "DELETE FROM t WHERE id = 1;", kMaxFileBytes)});
    out.push_back({"nesting at the limit (parentheses)",
                   "DELETE FROM t WHERE " + std::string(datafix::sql::kMaxNesting - 2, '(') +
                       "id = 1" + std::string(datafix::sql::kMaxNesting - 2, ')') + ";"});
    out.push_back(
        {"200,000 nested NOTs (refused)", fill("DELETE FROM t WHERE ", "NOT ", "x;", 800000)});
    out.push_back({"1 MiB chain of + (refused)",
                   fill("DELETE FROM t WHERE 1", "+1", " = id;", kMaxFileBytes)});
    return out;
}

struct Timing {
    double seconds = 0;
    std::string outcome;
};

Timing time_analyze(const std::string& sql) {
    std::vector<double> runs;
    std::string outcome;
    for (int i = 0; i < 3; ++i) {
        auto start = Clock::now();
        try {
            auto analysis = datafix::sql::analyze(sql, datafix::sql::FileRole::change, "bench.sql");
            outcome = std::to_string(analysis.statements.size()) + " statements";
        } catch (const datafix::Error& e) {
            outcome = "invalid input";
        }
        runs.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    }
    std::sort(runs.begin(), runs.end());
    return {runs[runs.size() / 2], outcome};
}

Timing time_check(const std::string& sql) {
    std::filesystem::path path = std::filesystem::temp_directory_path() / "bench_guard.sql";
    std::ofstream(path, std::ios::binary) << sql;
    std::string command =
        std::string(DATAFIX_BINARY) + " check " + path.string() + " >/dev/null 2>&1";
    auto start = Clock::now();
    int status = std::system(command.c_str());
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::filesystem::remove(path);
    std::string outcome =
        WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status)) : "killed by a signal";
    return {seconds, outcome};
}

}  // namespace

int main() {
    std::cout << std::left << std::setw(38) << "input" << std::setw(10) << "bytes" << std::setw(12)
              << "analyze s" << std::setw(18) << "result" << std::setw(12) << "check s"
              << "check\n";
    for (const Input& input : inputs()) {
        Timing analyzed = time_analyze(input.sql);
        Timing checked = time_check(input.sql);
        std::cout << std::left << std::setw(38) << input.name << std::setw(10) << input.sql.size()
                  << std::setw(12) << std::fixed << std::setprecision(3) << analyzed.seconds
                  << std::setw(18) << analyzed.outcome << std::setw(12) << checked.seconds
                  << checked.outcome << "\n";
    }
    return 0;
}
