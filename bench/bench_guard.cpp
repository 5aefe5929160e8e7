// bench_guard: what the SQL guard costs on the largest and deepest files it accepts or refuses.
// For each input it times sql::analyze in-process (the median of a few runs, wall clock and CPU)
// and one run of the `datafix check` command on the same bytes written to a file (wall clock and
// the child's CPU), and prints a table with the outcome. CPU time is the figure to compare on a
// shared machine: the wall clock there also counts waiting for a core. For an accepted file it
// also times libpg_query's own parse of the same bytes into a serialized tree, which the guard
// cannot do without, and prints the guard's CPU as a multiple of it. Not part of ctest.
#include <pg_query.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
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
    out.push_back({"1 MiB, ~7,000 UPDATEs", fill("", update, "", kMaxFileBytes)});
    out.push_back({"1 MiB, ~25,000 short UPDATEs",
                   fill("", "UPDATE t SET a = 1 + 2 * 3 WHERE id = 5;\n", "", kMaxFileBytes)});
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
    // The scanner's cost is quadratic in a run of operator characters: the worst accepted file
    // is runs of 63 (the longest operator), and runs up to 256 within their 4,096 budget.
    out.push_back({"1 MiB of 63-character + runs in one WHERE",
                   fill("DELETE FROM t WHERE id = 1", " " + std::string(63, '+') + " 1", ";",
                        kMaxFileBytes)});
    out.push_back({"1 MiB of 63-character = runs in comments",
                   fill("", "-- " + std::string(63, '=') + "\n", "DELETE FROM t WHERE id = 1;",
                        kMaxFileBytes)});
    out.push_back({"1 MiB of 256-character = runs (refused)",
                   fill("", "-- " + std::string(256, '=') + "\n", "DELETE FROM t WHERE id = 1;",
                        kMaxFileBytes)});
    out.push_back({"1 MiB chain of + (refused)",
                   fill("DELETE FROM t WHERE 1", "+1", " = id;", kMaxFileBytes)});
    return out;
}

struct Timing {
    double seconds = 0;
    double cpu_seconds = 0;
    std::string outcome;
};

double children_cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_CHILDREN, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

Timing time_analyze(const std::string& sql) {
    std::vector<double> runs;
    std::vector<double> cpu;
    std::string outcome;
    for (int i = 0; i < 3; ++i) {
        auto start = Clock::now();
        std::clock_t cpu_start = std::clock();
        try {
            auto analysis = datafix::sql::analyze(sql, datafix::sql::FileRole::change, "bench.sql");
            outcome = std::to_string(analysis.statements.size()) + " statements";
        } catch (const datafix::Error& e) {
            outcome = "invalid input";
        }
        runs.push_back(std::chrono::duration<double>(Clock::now() - start).count());
        cpu.push_back(static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC);
    }
    std::sort(runs.begin(), runs.end());
    std::sort(cpu.begin(), cpu.end());
    return {runs[runs.size() / 2], cpu[cpu.size() / 2], outcome};
}

// The CPU of pg_query_parse_protobuf on the whole file (median of three): the parse analyze()
// starts from. Only for files analyze() accepted: it refuses the ones deep enough to exhaust the
// parser's stack.
double parse_cpu_seconds(const std::string& sql) {
    std::vector<double> cpu;
    for (int i = 0; i < 3; ++i) {
        std::clock_t cpu_start = std::clock();
        PgQueryProtobufParseResult result = pg_query_parse_protobuf(sql.c_str());
        pg_query_free_protobuf_parse_result(result);
        cpu.push_back(static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC);
    }
    std::sort(cpu.begin(), cpu.end());
    return cpu[cpu.size() / 2];
}

Timing time_check(const std::string& sql) {
    std::filesystem::path path = std::filesystem::temp_directory_path() / "bench_guard.sql";
    std::ofstream(path, std::ios::binary) << sql;
    std::string command =
        std::string(DATAFIX_BINARY) + " check " + path.string() + " >/dev/null 2>&1";
    auto start = Clock::now();
    double cpu_start = children_cpu_seconds();
    int status = std::system(command.c_str());
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    double cpu_seconds = children_cpu_seconds() - cpu_start;
    std::filesystem::remove(path);
    std::string outcome =
        WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status)) : "killed by a signal";
    return {seconds, cpu_seconds, outcome};
}

}  // namespace

int main() {
    std::cout << std::left << std::setw(42) << "input" << std::setw(9) << "bytes" << std::setw(18)
              << "analyze s (cpu)" << std::setw(18) << "result" << std::setw(18) << "check s (cpu)"
              << std::setw(9) << "check" << std::setw(11) << "parse cpu"
              << "analyze/parse\n";
    for (const Input& input : inputs()) {
        Timing analyzed = time_analyze(input.sql);
        Timing checked = time_check(input.sql);
        auto pair = [](const Timing& t) {
            std::ostringstream out;
            out << std::fixed << std::setprecision(3) << t.seconds << " (" << t.cpu_seconds << ")";
            return out.str();
        };
        std::ostringstream floor;
        if (analyzed.outcome != "invalid input") {
            double parse = parse_cpu_seconds(input.sql);
            floor << std::left << std::fixed << std::setprecision(3) << std::setw(11) << parse;
            // Below 10 ms the clock's resolution and the fixed costs make a ratio meaningless.
            if (parse >= 0.01) {
                floor << std::setprecision(1) << analyzed.cpu_seconds / parse;
            }
        }
        std::cout << std::left << std::setw(42) << input.name << std::setw(9) << input.sql.size()
                  << std::setw(18) << pair(analyzed) << std::setw(18) << analyzed.outcome
                  << std::setw(18) << pair(checked) << std::setw(9) << checked.outcome
                  << floor.str() << "\n";
    }
    return 0;
}
