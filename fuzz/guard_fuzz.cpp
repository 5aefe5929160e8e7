// guard_fuzz: the SQL guard's entry point (sql::analyze, what `datafix check`, the server and the
// target layer run) under arbitrary bytes. Every input must end in an analysis or a datafix::Error;
// anything else (a crash, another exception, a hang) is a finding.
//
//   guard_fuzz [FILE]                  one input (FILE or stdin), as afl-fuzz runs it (persistent
//                                      mode when built with afl-clang-fast)
//   guard_fuzz --write-seeds CASES OUT the SQL of every case in CASES/*.txt as OUT/<n>.sql
//   guard_fuzz --replay CASES [N]      every case, then N seeded mutations of each (default 20),
//                                      then a few deep inputs; prints counts, exits 1 on a finding
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "sql/analysis.hpp"

namespace {

namespace fs = std::filesystem;
using datafix::sql::FileRole;

struct Tally {
    long analyses = 0;
    long refusals = 0;  // input errors: not a finding
};

// Runs one input in both roles. Returns false (after saying why) on anything but an analysis or
// a datafix::Error.
bool run_one(const std::string& input, Tally& tally) {
    for (FileRole role : {FileRole::change, FileRole::verify}) {
        try {
            datafix::sql::Analysis a = datafix::sql::analyze(input, role, "fuzz.sql");
            if (a.statements.empty()) {
                std::cerr << "guard_fuzz: an analysis without statements\n";
                return false;
            }
            ++tally.analyses;
        } catch (const datafix::Error&) {
            ++tally.refusals;
        } catch (const std::exception& e) {
            std::cerr << "guard_fuzz: unexpected exception: " << e.what() << "\n";
            return false;
        }
    }
    return true;
}

std::vector<std::string> load_cases(const fs::path& dir) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.path().extension() == ".txt") {
            files.push_back(entry.path());
        }
    }
    std::sort(files.begin(), files.end());
    std::vector<std::string> cases;
    for (const auto& path : files) {
        std::ifstream in(path);
        std::string line;
        bool in_header = false;
        while (std::getline(in, line)) {
            if (line.starts_with("=== ")) {
                cases.emplace_back();
                in_header = true;
                continue;
            }
            if (cases.empty()) {
                continue;
            }
            bool header = false;
            for (const char* key :
                 {"role:", "expect:", "reason:", "kind:", "tables:", "where:", "statements:"}) {
                header = header || line.starts_with(key);
            }
            if (in_header && header) {
                continue;
            }
            in_header = false;
            cases.back() += line + "\n";
        }
    }
    return cases;
}

// splitmix64: a small deterministic generator, so a replay failure can be reproduced.
struct Random {
    std::uint64_t state;
    std::uint64_t next() {
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(next() % n); }
};

const std::vector<std::string> kFragments = {"NOT ",
                                             "(",
                                             ")",
                                             "CASE WHEN ",
                                             " END",
                                             "'",
                                             "\"",
                                             "$$",
                                             "\\",
                                             "--",
                                             "/*",
                                             "*/",
                                             ";",
                                             "::int",
                                             " OR true",
                                             " AND ",
                                             "E'\\",
                                             "\n\\echo ",
                                             "1+",
                                             "ARRAY[",
                                             "]",
                                             "(SELECT ",
                                             ",",
                                             "\xC3\xA9",
                                             "\xFF",
                                             "$1",
                                             "U&'",
                                             "WHERE",
                                             " IS NULL ",
                                             "||",
                                             " COLLATE \"C\"",
                                             "EXISTS (SELECT 1 FROM t)",
                                             "\t",
                                             "\r"};

std::string mutate(const std::string& seed, const std::vector<std::string>& all, Random& r) {
    std::string s = seed;
    int steps = 1 + static_cast<int>(r.below(4));
    for (int k = 0; k < steps; ++k) {
        std::size_t at = r.below(s.size() + 1);
        switch (r.below(7)) {
            case 0:
                if (!s.empty()) {
                    s[r.below(s.size())] ^= static_cast<char>(1 << r.below(8));
                }
                break;
            case 1:
                s.erase(at, r.below(16));
                break;
            case 2:
                s.insert(at, kFragments[r.below(kFragments.size())]);
                break;
            case 3: {
                std::size_t length = r.below(32);
                s.insert(at, s.substr(at, length));
                break;
            }
            case 4: {
                const std::string& other = all[r.below(all.size())];
                std::size_t from = r.below(other.size() + 1);
                s = s.substr(0, at) + other.substr(from);
                break;
            }
            case 5: {
                // A run of one fragment: nesting and chains of many kinds and lengths.
                const std::string& f = kFragments[r.below(kFragments.size())];
                std::size_t times = 1 + r.below(r.below(2) == 0 ? 50 : 1200);
                std::string run;
                for (std::size_t i = 0; i < times; ++i) {
                    run += f;
                }
                s.insert(at, run);
                break;
            }
            default:
                s.resize(at);
                break;
        }
    }
    return s;
}

std::vector<std::string> deep_inputs() {
    std::vector<std::string> out;
    auto repeat = [](const std::string& s, int n) {
        std::string r;
        for (int i = 0; i < n; ++i) {
            r += s;
        }
        return r;
    };
    for (int n : {8, datafix::sql::kMaxNesting - 2, datafix::sql::kMaxNesting + 1, 10000}) {
        out.push_back("DELETE FROM t WHERE " + repeat("NOT ", n) + "x;");
        out.push_back("DELETE FROM t WHERE " + repeat("(", n) + "x" + repeat(")", n) + ";");
        out.push_back("DELETE FROM t WHERE 1" + repeat("+1", n) + " = x;");
        out.push_back("DELETE FROM t WHERE x" + repeat("::int", n) + " = 1;");
        out.push_back("DELETE FROM t WHERE " + repeat("CASE WHEN ", n) + "x" +
                      repeat(" THEN 1 END", n) + ";");
        out.push_back("SELECT " + repeat("(SELECT ", n) + "1" + repeat(")", n) + ";");
        out.push_back("SELECT 1" + repeat(" UNION SELECT 1", n) + ";");
        out.push_back("DELETE FROM t WHERE id = 0" + repeat(" OR id = 1", n) + ";");
    }
    return out;
}

int replay(const fs::path& cases_dir, long mutations_per_case) {
    auto started = std::chrono::steady_clock::now();
    std::vector<std::string> cases = load_cases(cases_dir);
    if (cases.empty()) {
        std::cerr << "guard_fuzz: no cases in " << cases_dir << "\n";
        return 1;
    }
    Tally tally;
    long inputs = 0;
    Random r{20240601};
    auto check = [&](const std::string& input, const std::string& what) {
        ++inputs;
        if (!run_one(input, tally)) {
            std::string path = (fs::temp_directory_path() / "guard_fuzz_finding.sql").string();
            std::ofstream(path, std::ios::binary) << input;
            std::cerr << "guard_fuzz: finding on " << what << ", input saved to " << path << "\n";
            return false;
        }
        return true;
    };
    for (std::size_t i = 0; i < cases.size(); ++i) {
        if (!check(cases[i], "case " + std::to_string(i))) {
            return 1;
        }
        for (long m = 0; m < mutations_per_case; ++m) {
            if (!check(mutate(cases[i], cases, r),
                       "mutation " + std::to_string(m) + " of case " + std::to_string(i))) {
                return 1;
            }
        }
    }
    for (const std::string& deep : deep_inputs()) {
        if (!check(deep, "a deep input of " + std::to_string(deep.size()) + " bytes")) {
            return 1;
        }
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::cout << "guard_fuzz: " << cases.size() << " cases, " << inputs << " inputs, "
              << tally.analyses << " analyses, " << tally.refusals
              << " refused as invalid input, no crash, " << seconds << " s\n";
    return 0;
}

int write_seeds(const fs::path& cases_dir, const fs::path& out) {
    fs::create_directories(out);
    std::vector<std::string> cases = load_cases(cases_dir);
    for (std::size_t i = 0; i < cases.size(); ++i) {
        std::ofstream(out / (std::to_string(i) + ".sql"), std::ios::binary) << cases[i];
    }
    std::cout << "guard_fuzz: " << cases.size() << " seeds in " << out << "\n";
    return 0;
}

std::string read_all(std::istream& in) {
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Unbuffered: afl-fuzz rewinds the same stdin between iterations of the persistent loop.
std::string read_stdin() {
    std::string out;
    char buffer[65536];
    ssize_t n = 0;
    while ((n = read(0, buffer, sizeof buffer)) > 0) {
        out.append(buffer, static_cast<std::size_t>(n));
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (!args.empty() && args[0] == "--replay" && args.size() >= 2) {
        return replay(args[1], args.size() >= 3 ? std::stol(args[2]) : 20);
    }
    if (!args.empty() && args[0] == "--write-seeds" && args.size() == 3) {
        return write_seeds(args[1], args[2]);
    }
    // A finding aborts, so that afl-fuzz records it as a crash.
    Tally tally;
    if (!args.empty()) {
        std::ifstream in(args[0], std::ios::binary);
        if (!run_one(read_all(in), tally)) {
            std::abort();
        }
        return 0;
    }
#ifdef __AFL_HAVE_MANUAL_CONTROL
    __AFL_INIT();
    while (__AFL_LOOP(10000)) {
        if (!run_one(read_stdin(), tally)) {
            std::abort();
        }
    }
#else
    if (!run_one(read_stdin(), tally)) {
        std::abort();
    }
#endif
    return 0;
}
