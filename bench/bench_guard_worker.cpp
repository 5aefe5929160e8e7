// Guard isolation benchmark: what analysing uploaded SQL in a `datafix guard-worker` child costs
// over analysing it in the server's process. For a one-statement change and for a 200-statement
// file it times sql::analyze in-process and the worker (start, analysis, JSON answer) through
// core/process, and prints the mean of each and the difference per analysis.
//
//   build/bench/bench_guard_worker [rounds]   (default 50)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/process.hpp"
#include "sql/analysis.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

void measure(const char* label, const std::string& text, int rounds) {
    auto start = Clock::now();
    for (int i = 0; i < rounds; ++i) {
        auto a = datafix::sql::analyze(text, datafix::sql::FileRole::change, "change.sql");
        if (!a.all_allowed()) {
            std::fprintf(stderr, "the sample change is refused\n");
            std::exit(1);
        }
    }
    const double in_process = ms_since(start) / rounds;

    datafix::process::Spec spec;
    spec.argv = {DATAFIX_BINARY, "guard-worker", "--role=change", "--file=change.sql"};
    spec.input = text;
    spec.max_output_bytes = 32 * 1024 * 1024;
    spec.deadline = std::chrono::seconds{20};
    start = Clock::now();
    for (int i = 0; i < rounds; ++i) {
        auto r = datafix::process::run(spec);
        if (!r.started() || r.exit_status != 0 || r.out.find("\"analysis\"") == std::string::npos) {
            std::fprintf(stderr, "the worker failed: %s\n", r.err.c_str());
            std::exit(1);
        }
    }
    const double worker = ms_since(start) / rounds;
    std::printf("%-28s in-process %7.2f ms   worker %7.2f ms   added %7.2f ms per analysis\n",
                label, in_process, worker, worker - in_process);
}

}  // namespace

int main(int argc, char** argv) {
    const int rounds = argc > 1 ? std::atoi(argv[1]) : 50;
    const std::string one =
        "UPDATE app_public.app_user SET family_name = 'Renamed' WHERE id = 3;\n";
    std::string many;
    for (int i = 1; i <= 200; ++i) {
        many += "UPDATE app_public.app_user SET family_name = 'Renamed " + std::to_string(i) +
                "' WHERE id = " + std::to_string(i) + ";\n";
    }
    measure("1 statement", one, rounds);
    measure("200 statements", many, rounds);
    return 0;
}
