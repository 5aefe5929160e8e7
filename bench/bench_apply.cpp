// bench_apply: datafix's guarded apply (before/after capture of the whole write closure: the
// statement's rows and every row its triggers, cascades and rules write) against bare psql running
// BEGIN; <same statement>; COMMIT on a copy of the same 1,000,000-application database, and the
// peak memory of a process capturing a 1,000,000-row UPDATE. Prints a table; not part of ctest.
//
// Fairness: datafix previews before it applies (one rolled-back rehearsal where volatility is
// learned from its causes), which warms the cache and leaves dead tuples. The psql copy gets the
// same rolled-back run before it is timed. Also printed: the preview against one psql run of the
// statement, preview + apply against it, and how many sequence values a preview of an INSERT
// draws (gaps production would get). Live mode (the statement once, its evidence captured while
// the transaction stays open, then COMMIT) is timed against the same psql run, on its own copy
// after the same rolled-back psql run, with the sequence values a live INSERT draws.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>

#include "core/crypto.hpp"
#include "core/error.hpp"
#include "harness/pg_cluster.hpp"
#include "harness/process.hpp"
#include "sql/analysis.hpp"
#include "targetdb/plan_builder.hpp"
#include "targetdb/session.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using datafix::testing::PgCluster;
namespace targetdb = datafix::targetdb;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// CPU seconds the cluster's processes have used so far: the postmaster's own and its reaped
// children's (backends that ended, parallel workers), plus each running child's. The difference
// across an operation is what the server spent on it, however loaded the machine is (the
// background processes, autovacuum among them, are counted too).
double cluster_cpu_seconds(const PgCluster& cluster) {
    std::ifstream pid_file(cluster.data_dir() + "/postmaster.pid");
    long postmaster = 0;
    pid_file >> postmaster;
    const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
    double ticks = 0;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
        const auto name = entry.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        std::string stat;
        try {
            std::ifstream stat_file(entry.path() / "stat");
            stat.assign(std::istreambuf_iterator<char>(stat_file),
                        std::istreambuf_iterator<char>());
        } catch (const std::ios_base::failure&) {
            continue;  // the process ended while it was read (ESRCH)
        }
        auto close = stat.rfind(')');
        if (close == std::string::npos) {
            continue;  // the process ended while it was read
        }
        // After the command: state, ppid, ..., utime (14), stime, cutime, cstime (17).
        std::istringstream fields(stat.substr(close + 2));
        std::string state;
        long ppid = 0;
        fields >> state >> ppid;
        std::string skip;
        for (int i = 5; i < 14; ++i) {
            fields >> skip;
        }
        double utime = 0, stime = 0, cutime = 0, cstime = 0;
        fields >> utime >> stime >> cutime >> cstime;
        if (std::stol(name) == postmaster) {
            ticks += utime + stime + cutime + cstime;
        } else if (ppid == postmaster) {
            ticks += utime + stime;
        }
    }
    return ticks / tick;
}

// CPU seconds of this process (every thread) or of its waited-for children (psql).
double own_cpu_seconds(int who) {
    rusage r{};
    ::getrusage(who, &r);
    auto seconds = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return seconds(r.ru_utime) + seconds(r.ru_stime);
}

// Server and client CPU seconds spent from construction to now().
struct CpuMeter {
    const PgCluster& cluster;
    int who;
    double server = cluster_cpu_seconds(cluster);
    double client = own_cpu_seconds(who);
    double now() const {
        return cluster_cpu_seconds(cluster) - server + own_cpu_seconds(who) - client;
    }
};

targetdb::EnvironmentTarget environment(const PgCluster& cluster, const std::string& db) {
    targetdb::EnvironmentTarget t;
    t.name = "bench";
    t.conninfo = cluster.conninfo(db, "datafix_login");
    t.role = "app_owner";
    t.pinned_system_identifier = cluster.system_identifier();
    t.statement_timeout = std::chrono::minutes(30);
    // As a team would configure it: the audit log is append-only, and revert restores with
    // triggers off (the sample schema grants SET ON PARAMETER session_replication_role).
    t.append_only_tables = {"app_public.record_version"};
    // The review-queue trigger runs as its owner (SECURITY DEFINER): vouched, as the team would.
    t.vouch_security_definer = {"app_private.queue_for_review"};
    t.revert_without_triggers = true;
    t.idle_in_transaction_session_timeout = std::chrono::minutes(30);
    t.session_settings["jwt.claims.sub"] =
        cluster.psql("SELECT sub FROM app_public.app_user WHERE id = 1", db);
    while (!t.session_settings["jwt.claims.sub"].empty() &&
           t.session_settings["jwt.claims.sub"].back() == '\n') {
        t.session_settings["jwt.claims.sub"].pop_back();
    }
    return t;
}

targetdb::ChangePlan plan(const std::string& statement, long long rows) {
    auto analysis = datafix::sql::analyze(statement, datafix::sql::FileRole::change, "bench.sql");
    return targetdb::build_change_plan("bench", analysis, {rows});
}

struct PsqlTiming {
    double wall = 0;         // the whole psql process
    double transaction = 0;  // BEGIN + statement + COMMIT as psql's \timing reports them
    double cpu = 0;          // psql's CPU and the server's
    // The rolled-back run before it on the same fresh copy: the statement's first run there,
    // as a preview is on datafix's copy.
    double first = 0;
};

// psql as datafix_login, as the same role and settings datafix uses.
PsqlTiming run_psql(const PgCluster& cluster, const std::string& db, const std::string& sub,
                    const std::string& statement, const std::string& end) {
    std::string script = "SET ROLE app_owner;\nSELECT set_config('jwt.claims.sub', '" + sub +
                         "', false);\n\\timing on\nBEGIN;\n" + statement + ";\n" + end + ";\n";
    CpuMeter cpu{cluster, RUSAGE_CHILDREN};
    auto start = Clock::now();
    auto r = datafix::testing::run_process(
        {"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", cluster.socket_dir(), "-p",
         std::to_string(cluster.port()), "-U", "datafix_login", "-d", db, "-f", "-"},
        script);
    PsqlTiming t;
    t.wall = seconds_since(start);
    t.cpu = cpu.now();
    if (r.status != 0) {
        throw std::runtime_error("psql failed: " + r.err);
    }
    std::regex time_line(R"(Time: ([0-9.]+) ms)");
    for (std::sregex_iterator it(r.out.begin(), r.out.end(), time_line), e; it != e; ++it) {
        t.transaction += std::stod((*it)[1]) / 1000.0;
    }
    return t;
}

struct DatafixTiming {
    double preview = 0;
    double apply = 0;        // the apply() call: pre-flight, BEGIN .. COMMIT acknowledged
    double transaction = 0;  // BEGIN to COMMIT acknowledged (Outcome::transaction_time)
    double preview_cpu = 0;  // datafix's CPU and the server's (both sessions)
    double apply_cpu = 0;
};

// Every copy starts alike: copied file by file (PostgreSQL 15's default strategy writes the whole
// database into WAL and leaves it in dirty buffers, for the timed statement to write out), then
// vacuumed, then a checkpoint, so each timed run finds clean buffers and pays the same full-page
// images.
std::string fresh_copy(PgCluster& cluster, const std::string& name) {
    cluster.psql("DROP DATABASE IF EXISTS \"" + name + "\" WITH (FORCE)", "postgres");
    cluster.psql("CREATE DATABASE \"" + name + "\" TEMPLATE app STRATEGY FILE_COPY", "postgres");
    cluster.psql("VACUUM ANALYZE", name);
    cluster.psql("CHECKPOINT", "postgres");
    return name;
}

void drop(PgCluster& cluster, const std::string& name) {
    cluster.psql("DROP DATABASE IF EXISTS \"" + name + "\" WITH (FORCE)", "postgres");
}

void print_row(const std::string& what, double datafix, double psql) {
    std::printf("%-44s %10.3f s %10.3f s %8.2fx\n", what.c_str(), datafix, psql, datafix / psql);
}

struct Scenario {
    std::string name;
    std::string statement;
    long long rows;
};

// One round of a scenario, every run on a fresh copy of the database.
struct Round {
    PsqlTiming psql;  // the mean of the runs before and after datafix's
    double psql_before = 0;
    double psql_after = 0;
    DatafixTiming d;
    double capture = 0;
    std::size_t rehearsals = 1;
    long long drawn_by_preview = 0;
    std::vector<std::string> closure;  // "  closure: <table> N inserted, ..." lines
    double revert = 0;                 // UPDATE only
    double revert_preview = 0;
    double live = 0;
    double live_cpu = 0;
    double live_transaction = 0;
    long long live_drawn = 0;
};

long long status_values_drawn(PgCluster& cluster, const std::string& db) {
    return std::stoll(cluster.psql(
        "SELECT coalesce(pg_sequence_last_value('app_public.application_status_id_seq'), 0)", db));
}

Round measure(PgCluster& cluster, const datafix::Key& key, const std::filesystem::path& images_dir,
              const Scenario& s) {
    Round round;
    // psql, on its own copy, after one rolled-back run as a preview does; once before and once
    // after datafix, since the machine's load drifts (the mean is the baseline).
    auto time_psql = [&] {
        auto psql_db = fresh_copy(cluster, "bench_psql");
        auto sub = environment(cluster, psql_db).session_settings["jwt.claims.sub"];
        auto first = run_psql(cluster, psql_db, sub, s.statement, "ROLLBACK");
        auto t = run_psql(cluster, psql_db, sub, s.statement, "COMMIT");
        t.first = first.wall;
        drop(cluster, psql_db);
        return t;
    };
    auto p1 = time_psql();
    auto df_db = fresh_copy(cluster, "bench_datafix");
    targetdb::ImageStore images(key, images_dir.string());
    {
        auto session = targetdb::Session::open(environment(cluster, df_db));
        auto change = plan(s.statement, s.rows);
        long long drawn_before = status_values_drawn(cluster, df_db);
        auto start = Clock::now();
        CpuMeter cpu{cluster, RUSAGE_SELF};
        auto evidence = session.preview(change, images);
        round.d.preview = seconds_since(start);
        round.d.preview_cpu = cpu.now();
        round.drawn_by_preview = status_values_drawn(cluster, df_db) - drawn_before;
        round.rehearsals = evidence.volatility_unknown.empty() ? 1 : 2;
        start = Clock::now();
        CpuMeter apply_cpu{cluster, RUSAGE_SELF};
        auto outcome = session.apply(change, evidence, images,
                                     [](const std::string&, int, const targetdb::Evidence&) {});
        round.d.apply = seconds_since(start);
        round.d.apply_cpu = apply_cpu.now();
        round.d.transaction = std::chrono::duration<double>(outcome.transaction_time).count();
        round.capture = std::chrono::duration<double>(outcome.capture_time).count();
        for (const auto& c : outcome.applied.closure) {
            char line[256];
            std::snprintf(line, sizeof line, "%-44s %lld inserted, %lld updated, %lld deleted",
                          ("  closure: " + c.qualified()).c_str(), c.inserted, c.updated,
                          c.deleted);
            round.closure.emplace_back(line);
        }
        auto p2 = time_psql();
        round.psql_before = p1.wall;
        round.psql_after = p2.wall;
        round.psql = PsqlTiming{(p1.wall + p2.wall) / 2, (p1.transaction + p2.transaction) / 2,
                                (p1.cpu + p2.cpu) / 2, (p1.first + p2.first) / 2};
        if (s.name.rfind("UPDATE", 0) == 0) {
            auto revert_start = Clock::now();
            auto revert_evidence = session.preview_revert(outcome.applied, images);
            round.revert_preview = seconds_since(revert_start);
            revert_start = Clock::now();
            session.apply_revert(outcome.applied, revert_evidence, images,
                                 [](const std::string&, int, const targetdb::Evidence&) {});
            round.revert = seconds_since(revert_start);
        }
    }
    drop(cluster, df_db);

    // Live mode on its own copy, after the same rolled-back psql run the psql copies get: the
    // statement runs once, its evidence is captured while the transaction is open, and the
    // (immediate) approval commits it.
    auto live_db = fresh_copy(cluster, "bench_live");
    {
        auto live_env = environment(cluster, live_db);
        run_psql(cluster, live_db, live_env.session_settings["jwt.claims.sub"], s.statement,
                 "ROLLBACK");
        targetdb::LiveLimits limits;
        limits.window = std::chrono::minutes(30);
        limits.max_rows = 100 * s.rows;
        auto live_session = targetdb::Session::open(targetdb::live_target(live_env, limits));
        auto change = plan(s.statement, s.rows);
        long long live_before = status_values_drawn(cluster, live_db);
        auto live_start = Clock::now();
        CpuMeter live_cpu{cluster, RUSAGE_SELF};
        auto live_outcome = live_session.live(
            change, limits, images,
            [](const targetdb::Evidence&) { return targetdb::LiveDecision::commit; },
            [](const std::string&, int, const targetdb::Evidence&) {});
        round.live = seconds_since(live_start);
        round.live_cpu = live_cpu.now();
        if (live_outcome.status != targetdb::OutcomeStatus::committed) {
            throw std::runtime_error("the live run did not commit");
        }
        round.live_transaction =
            std::chrono::duration<double>(live_outcome.transaction_time).count();
        round.live_drawn = status_values_drawn(cluster, live_db) - live_before;
    }
    drop(cluster, live_db);
    std::filesystem::remove_all(images_dir);  // the next ImageStore creates it again
    return round;
}

long vm_hwm_kib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmHWM:", 0) == 0) {
            return std::stol(line.substr(6));
        }
    }
    return -1;
}

}  // namespace

int main(int argc, char** argv) {
    long applications = 1000000;
    int first_option = 1;
    if (argc > 1 && std::string(argv[1]).rfind("--", 0) != 0) {
        applications = std::stol(argv[1]);
        first_option = 2;
    }
    long changed = applications / 10;
    bool skip_memory = false;
    std::string only;  // update, delete or insert: that scenario alone
    int rounds = 1;
    for (int i = first_option; i < argc; ++i) {
        if (std::string(argv[i]) == "--rounds" && i + 1 < argc) {
            rounds = std::max(1, std::stoi(argv[++i]));
            continue;
        }
        skip_memory = skip_memory || std::string(argv[i]) == "--skip-memory";
        if (std::string(argv[i]) == "--only" && i + 1 < argc) {
            only = argv[++i];
            continue;
        }
        if (std::string(argv[i]) == "--update-only") {
            only = "update";
        }
    }
    try {
        auto setup = Clock::now();
        auto cluster = PgCluster::create("bench");
        cluster->psql(
            "ALTER SYSTEM SET shared_buffers = '512MB'; ALTER SYSTEM SET max_wal_size = "
            "'4GB'; ALTER SYSTEM SET checkpoint_timeout = '30min'",
            "postgres");
        cluster->stop();
        cluster->start();
        datafix::testing::load_sample_schema(*cluster);
        datafix::testing::generate_sample_rows(*cluster, applications);
        std::printf("cluster with %ld applications ready in %.1f s\n\n", applications,
                    seconds_since(setup));
        std::setvbuf(stdout, nullptr, _IOLBF, 0);

        // This run's own directory: two runs at once must not remove each other's images.
        std::string images_template =
            (std::filesystem::temp_directory_path() / "datafix-bench-images-XXXXXX").string();
        if (::mkdtemp(images_template.data()) == nullptr) {
            throw std::runtime_error("cannot create a directory for the images under " +
                                     std::filesystem::temp_directory_path().string());
        }
        const std::filesystem::path images_dir = images_template;
        auto key = datafix::Key::generate();
        std::string n = std::to_string(changed);
        std::vector<Scenario> scenarios = {
            {"UPDATE " + n + " applications",
             "UPDATE app_public.application SET form_data = form_data || '{\"reviewed\": true}' "
             "WHERE id <= " +
                 n,
             changed},
            {"DELETE " + n + " status rows",
             "DELETE FROM app_public.application_status WHERE application_id <= " + n, changed},
            {"INSERT ... SELECT " + n + " status rows",
             "INSERT INTO app_public.application_status (application_id, status, change_reason) "
             "SELECT id, 'received', 'bench' FROM app_public.application WHERE id <= " +
                 n,
             changed},
        };

        std::printf("%-44s %12s %12s %9s\n", "operation", "datafix", "psql", "ratio");
        if (rounds > 1) {
            std::printf("(each figure the median of %d rounds, each on fresh copies)\n", rounds);
        }
        for (const auto& s : scenarios) {
            std::string kind = s.name.substr(0, s.name.find(' '));
            std::transform(kind.begin(), kind.end(), kind.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            if (!only.empty() && kind != only) {
                continue;
            }
            std::vector<Round> measured;
            for (int r = 0; r < rounds; ++r) {
                measured.push_back(measure(*cluster, key, images_dir, s));
            }
            auto median = [&](auto field) {
                std::vector<double> values;
                for (const auto& m : measured) {
                    values.push_back(static_cast<double>(field(m)));
                }
                std::sort(values.begin(), values.end());
                return values[values.size() / 2];
            };
            const Round& last = measured.back();
            PsqlTiming p{median([](const Round& m) { return m.psql.wall; }),
                         median([](const Round& m) { return m.psql.transaction; }),
                         median([](const Round& m) { return m.psql.cpu; }),
                         median([](const Round& m) { return m.psql.first; })};
            double preview = median([](const Round& m) { return m.d.preview; });
            double apply = median([](const Round& m) { return m.d.apply; });
            double preview_cpu = median([](const Round& m) { return m.d.preview_cpu; });
            double apply_cpu = median([](const Round& m) { return m.d.apply_cpu; });
            std::printf("%-44s %10.3f s %10.3f s (psql before / after datafix)\n",
                        (s.name + ": psql runs").c_str(),
                        median([](const Round& m) { return m.psql_before; }),
                        median([](const Round& m) { return m.psql_after; }));
            print_row(s.name + ": apply", apply, p.wall);
            print_row(s.name + ": time inside the transaction",
                      median([](const Round& m) { return m.d.transaction; }), p.transaction);
            std::printf("%-44s %10.3f s\n", (s.name + ":   of which closure capture").c_str(),
                        median([](const Round& m) { return m.capture; }));
            print_row(s.name + ": preview / the statement in psql", preview, p.wall);
            // The preview is the statement's first run on its copy; psql's first run is the
            // rolled-back one. Both are printed: the first run pays for what a fresh copy has not
            // done yet (such as reading pages into the cache).
            print_row(s.name + ": preview / psql's first run", preview, p.first);
            print_row(s.name + ": preview + apply / psql",
                      median([](const Round& m) { return m.d.preview + m.d.apply; }), p.wall);
            print_row(s.name + ": CPU of the apply / psql's", apply_cpu, p.cpu);
            print_row(s.name + ": CPU of the preview / psql's", preview_cpu, p.cpu);
            print_row(s.name + ": CPU of preview + apply / psql's",
                      median([](const Round& m) { return m.d.preview_cpu + m.d.apply_cpu; }),
                      p.cpu);
            std::printf("%-44s %10zu\n", (s.name + ": rehearsals learned from causes").c_str(),
                        last.rehearsals);
            if (s.name.rfind("INSERT", 0) == 0) {
                long long drawn = last.drawn_by_preview;
                std::printf("%-44s %10lld (%.2f per inserted row)\n",
                            (s.name + ": sequence values the preview drew").c_str(), drawn,
                            static_cast<double>(drawn) / static_cast<double>(s.rows));
            }
            for (const auto& line : last.closure) {
                std::printf("%s\n", line.c_str());
            }
            if (s.name.rfind("UPDATE", 0) == 0) {
                print_row(s.name + ": revert vs psql's UPDATE",
                          median([](const Round& m) { return m.revert; }), p.wall);
                std::printf("%-44s %10.3f s\n", (s.name + ": revert preview").c_str(),
                            median([](const Round& m) { return m.revert_preview; }));
            }
            print_row(s.name + ": live mode / psql", median([](const Round& m) { return m.live; }),
                      p.wall);
            print_row(s.name + ": CPU of live mode / psql's",
                      median([](const Round& m) { return m.live_cpu; }), p.cpu);
            print_row(s.name + ": live mode's transaction / psql's",
                      median([](const Round& m) { return m.live_transaction; }), p.transaction);
            if (s.name.rfind("INSERT", 0) == 0) {
                std::printf("%-44s %10lld (%lld rows committed)\n",
                            (s.name + ": sequence values live mode drew").c_str(), last.live_drawn,
                            s.rows);
            }
        }

        if (skip_memory) {
            return 0;
        }
        // Peak memory while capturing an UPDATE of every application, in a child process so the
        // figure is the capture's alone.
        auto big_db = fresh_copy(*cluster, "bench_memory");
        auto env = environment(*cluster, big_db);
        std::fflush(stdout);
        pid_t child = fork();
        if (child == 0) {
            int code = 0;
            try {
                targetdb::ImageStore images(key, images_dir.string());
                auto session = targetdb::Session::open(env);
                auto change = plan(
                    "UPDATE app_public.application SET form_data = form_data || "
                    "'{\"reviewed\": true}' WHERE id > 0",
                    applications);
                change.all_rows = true;  // every row, as the request would declare it
                long before = vm_hwm_kib();
                auto start = Clock::now();
                auto evidence = session.preview(change, images);
                std::printf(
                    "\ncapture of a %ld-row UPDATE (preview): %.1f s, "
                    "%lld before- and %lld after-images\n",
                    applications, seconds_since(start), evidence.statements[0].before.rows,
                    evidence.statements[0].after.rows);
                std::printf(
                    "peak resident memory of the capturing process: %.1f MB (%.1f MB "
                    "after connecting)\n",
                    vm_hwm_kib() / 1024.0, before / 1024.0);
            } catch (const std::exception& e) {
                std::fprintf(stderr, "capture failed: %s\n", e.what());
                code = 1;
            }
            std::fflush(stdout);
            _exit(code);
        }
        int status = 0;
        waitpid(child, &status, 0);
        drop(*cluster, big_db);
        std::filesystem::remove_all(images_dir);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    } catch (const datafix::Error& e) {
        std::fprintf(stderr, "bench_apply: %s\n", e.describe().c_str());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_apply: %s\n", e.what());
        return 1;
    }
}
