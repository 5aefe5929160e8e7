// Runs on a target environment, reported step by step through the workflow.
#include "run/executor.hpp"

#include <algorithm>
#include <chrono>
#include <limits>

#include <filesystem>

#include "core/fault.hpp"
#include "run/evidence_file.hpp"
#include "run/leader.hpp"
#include "run/preflight_file.hpp"
#include "sql/analysis.hpp"
#include "targetdb/plan_builder.hpp"
#include "targetdb/session.hpp"
#include "workflow/decide.hpp"
#include "workflow/progress.hpp"
#include "workflow/reading.hpp"

namespace datafix::run {

namespace {

const model::Run& find_run(const model::RequestState& state, int number) {
    for (const auto& run : state.runs) {
        if (run.number == number) {
            return run;
        }
    }
    throw Error(ErrorCode::not_found, "no run " + std::to_string(number) + " on this request", {},
                "run-not-found");
}

std::string run_dir(const std::string& data_dir, model::RequestNumber number) {
    std::string dir = data_dir + "/request-" + std::to_string(number);
    std::filesystem::create_directories(dir);
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace);
    return dir;
}

std::string manifest_path(const std::string& dir, int run) {
    return dir + "/run-" + std::to_string(run) + ".evidence";
}

// Rows per statement; a revert of a write closure has no statements, and counts the rows it
// put back per table.
std::vector<std::int64_t> counts_of(const targetdb::Evidence& evidence) {
    std::vector<std::int64_t> counts;
    for (const auto& s : evidence.statements) {
        counts.push_back(s.actual_rows);
    }
    if (evidence.statements.empty()) {
        for (const auto& c : evidence.closure) {
            counts.push_back(c.changed());
        }
    }
    return counts;
}

// A failure as stored in the run: the stable code first (shown to everyone), then the message
// (sealed; may quote values).
std::string failure_text(const Error& e) {
    return std::string(code_name(e.code())) + ": " + e.message();
}

// Everything a run needs, read under the ledger lock once.
struct RunSetup {
    model::RequestState state;
    int run = 0;
    // The environment as the acting person runs it (their session settings applied).
    std::shared_ptr<const EnvironmentConfig> environment;
};

RunSetup start(Host& host, model::RequestNumber number, const workflow::Action& action,
               const std::string& environment, const workflow::Actor& actor) {
    const EnvironmentConfig* configured = host.find_environment(environment);
    // Before the workflow records anything: an unmapped person is refused and nothing changes.
    std::shared_ptr<const EnvironmentConfig> as_actor;
    if (configured != nullptr) {
        as_actor = std::make_shared<const EnvironmentConfig>(as_person(*configured, actor));
    }
    workflow::Decision decision = host.perform(number, action, actor);
    if (!decision.allowed()) {
        workflow::throw_refusal(*decision.refusal);
    }
    RunSetup setup{decision.state, decision.run.value_or(0), as_actor};
    if (setup.environment == nullptr || setup.run == 0) {
        throw Error(ErrorCode::internal, "the workflow started no run on " + environment);
    }
    return setup;
}

void finish(Host& host, model::RequestNumber number, workflow::FinishRun finish_run,
            const workflow::Actor& actor) {
    workflow::Decision decision = host.perform(number, finish_run, actor);
    if (!decision.allowed()) {
        host.log().error("request {} run {}: outcome not recorded: {}", number, finish_run.run,
                         decision.refusal->rule);
    }
}

void fail(Host& host, model::RequestNumber number, int run, const Error& error,
          const workflow::Actor& actor) {
    workflow::FinishRun f;
    f.run = run;
    f.outcome = workflow::RunOutcome::failed;
    f.failure = failure_text(error);
    // The database's errors are kept value-free by the target layer (SQLSTATE, condition and the
    // names of constraint, table, raising function), so operators see them; other failures may
    // name rows, so the log has their code only.
    host.log().warn("request {} run {}: failed: {}", number, run,
                    error.code() == ErrorCode::database ? failure_text(error)
                                                        : std::string(code_name(error.code())));
    finish(host, number, std::move(f), actor);
    RunEvent failed{.type = "run.failed", .run = run};
    failed.error = std::string(code_name(error.code()));
    host.announce(number, failed);
}

targetdb::BeforeCommit record_in_flight(Host& host, model::RequestNumber number, int run,
                                        const workflow::Actor& actor, std::string step) {
    return [&host, number, run, actor, step = std::move(step)](
               const std::string& xid, int backend_pid, const targetdb::Evidence& seen) {
        // Write-ahead: what this run saw, where resolve finds it, before the ledger hears of the
        // xid and before COMMIT is sent.
        save_evidence(host.key(), manifest_path(run_dir(host.data_dir(), number), run), seen);
        workflow::RecordInFlight in_flight{run, std::stoll(xid), backend_pid};
        workflow::Decision decision = host.perform(number, in_flight, actor);
        if (!decision.allowed()) {
            workflow::throw_refusal(*decision.refusal);
        }
        // The ledger holds the xid; COMMIT has not been sent.
        fault_point(step + ".before_commit");
    };
}

// Records a committed / not committed / in-doubt outcome and what the apply captured.
RunReport record_outcome(Host& host, model::RequestNumber number, int run, model::RunKind kind,
                         const targetdb::Outcome& outcome, const workflow::Actor& actor) {
    workflow::FinishRun f;
    f.run = run;
    std::string dir = run_dir(host.data_dir(), number);
    switch (outcome.status) {
        case targetdb::OutcomeStatus::committed:
            f.outcome = workflow::RunOutcome::succeeded;
            break;
        case targetdb::OutcomeStatus::not_committed:
            f.outcome = workflow::RunOutcome::failed;
            f.failure = "not_committed: the commit did not happen (" + outcome.resolved_by + ")";
            break;
        case targetdb::OutcomeStatus::in_doubt:
            f.outcome = workflow::RunOutcome::in_doubt;
            break;
    }
    if (!outcome.applied.statements.empty()) {
        std::string path = manifest_path(dir, run);
        save_evidence(host.key(), path, outcome.applied);
        f.before_images_path = path;
        f.after_images_path = path;
        f.counts = counts_of(outcome.applied);
        f.verify_results = verify_results_text(outcome.applied);
    }
    finish(host, number, std::move(f), actor);
    RunReport report;
    report.run = run;
    report.kind = kind;
    report.status = outcome.status == targetdb::OutcomeStatus::committed ? RunStatus::committed
                    : outcome.status == targetdb::OutcomeStatus::in_doubt
                        ? RunStatus::in_doubt
                        : RunStatus::not_committed;
    report.resolved_by = outcome.resolved_by;
    report.xid = outcome.xid;
    if (!outcome.applied.statements.empty()) {
        report.evidence = outcome.applied;
    }
    host.announce(number, RunEvent{.type = "run.finished", .run = run, .outcome = &report});
    return report;
}

// Records the outcome of a run whose COMMIT was sent. When the ledger cannot record it, the run
// is never turned into "failed" (its transaction may have committed, and the same approval must
// not apply twice): it stays open for recovery, and the caller hears "in doubt" (a report with
// outcome_unrecorded).
RunReport record_committed_outcome(Host& host, model::RequestNumber number, int run,
                                   model::RunKind kind, const targetdb::Outcome& outcome,
                                   const workflow::Actor& actor, const std::string& step) {
    fault_point(step + ".after_commit");
    try {
        fault_point(step + ".record_outcome");  // ":fail" stands for a ledger that cannot write
        return record_outcome(host, number, run, kind, outcome, actor);
    } catch (const std::exception& e) {
        host.log().error("request {} run {}: the ledger could not record the outcome: {}", number,
                         run, e.what());
        RunReport report;
        report.run = run;
        report.kind = kind;
        report.status = RunStatus::in_doubt;
        report.outcome_unrecorded = true;
        report.xid = outcome.xid;
        return report;
    }
}

// Runs the body of a started run. A failure is recorded on the run (FinishRun failed) before it
// propagates, so no run stays "running"; in-doubt and not-committed outcomes are reports, recorded
// by record_outcome already.
template <class Body>
RunReport recorded_run(Host& host, model::RequestNumber number, int run,
                       const workflow::Actor& actor, Body&& body) {
    try {
        return body();
    } catch (const Error& e) {
        fail(host, number, run, e, actor);
        throw;
    } catch (const std::exception& e) {
        fail(host, number, run, Error(ErrorCode::internal, e.what()), actor);
        throw;
    }
}

}  // namespace

targetdb::ChangePlan change_plan(const model::Revision& revision, const std::string& name) {
    sql::Analysis change = sql::analyze(revision.change_sql, sql::FileRole::change, "change.sql");
    if (change.statements.size() != revision.statements.size()) {
        throw Error(ErrorCode::internal,
                    "the stored change no longer has the statements it was attached with",
                    "attach a new revision (datafix change N --change FILE --expect ROWS)",
                    "stored-change-mismatch");
    }
    std::vector<std::optional<long long>> expected;
    expected.reserve(revision.statements.size());
    for (const auto& s : revision.statements) {
        expected.emplace_back(s.expected_rows);
    }
    std::optional<sql::Analysis> verify;
    if (revision.verify_sql.find_first_not_of(" \t\r\n") != std::string::npos) {
        verify = sql::analyze(revision.verify_sql, sql::FileRole::verify, "verify.sql");
    }
    targetdb::ChangePlan plan =
        targetdb::build_change_plan(name, change, expected, verify ? &*verify : nullptr);
    plan.all_rows = revision.all_rows;
    return plan;
}

Executor::Executor(Host& host, ServerIdentity identity, std::chrono::milliseconds run_lease)
    : host_(host), leases_(host, std::move(identity), run_lease) {}

void Executor::keep_leases(std::function<void()> after_sweep) {
    leases_.start_heartbeat([this, after_sweep = std::move(after_sweep)] {
        if (int settled = recover(); settled > 0) {
            host_.log().info("recovery settled {} runs whose server is gone", settled);
        }
        if (after_sweep) {
            after_sweep();
        }
    });
}

RunReport Executor::preview(model::RequestNumber number, const std::string& environment,
                            const workflow::Actor& actor) {
    RunSetup setup = start(host_, number, workflow::StartPreview{environment}, environment, actor);
    RunLeases::Held held(leases_, number, setup.run);
    host_.announce(number, RunEvent{.type = "run.started",
                                    .run = setup.run,
                                    .kind = "preview",
                                    .environment = environment});
    return recorded_run(host_, number, setup.run, actor, [&]() -> RunReport {
        const model::Revision& revision = *setup.state.current_revision();
        targetdb::ChangePlan plan = change_plan(revision, "request " + std::to_string(number));
        targetdb::ImageStore images(host_.key(), run_dir(host_.data_dir(), number));
        // The leader is found again at every step; the report the preview built is kept with
        // the run, also when the preview fails (it is what explains the failure).
        auto [evidence, preflight] = on_leader(*setup.environment, [&](LeaderSession& leader) {
            KeptPreflight kept(host_, number, setup.run, leader.session());
            targetdb::Evidence rehearsed = leader.session().preview(plan, images);
            fault_point("preview.captured");
            return std::pair{std::move(rehearsed), kept.report()};
        });

        std::string path = manifest_path(images.directory(), setup.run);
        save_evidence(host_.key(), path, evidence);
        workflow::FinishRun f;
        f.run = setup.run;
        f.outcome = workflow::RunOutcome::succeeded;
        f.counts = counts_of(evidence);
        f.fingerprint = evidence.fingerprint;
        f.before_images_path = path;
        f.after_images_path = path;
        f.verify_results = verify_results_text(evidence);
        finish(host_, number, std::move(f), actor);
        RunReport report;
        report.run = setup.run;
        report.kind = model::RunKind::preview;
        report.status = RunStatus::previewed;
        report.evidence = std::move(evidence);
        host_.announce(number,
                       RunEvent{.type = "run.finished", .run = setup.run, .outcome = &report});
        report.preflight = std::move(preflight);
        return report;
    });
}

RunReport Executor::apply(model::RequestNumber number, const std::string& environment,
                          const std::string& fingerprint, const workflow::Actor& actor) {
    RunSetup setup =
        start(host_, number, workflow::StartApply{environment, fingerprint}, environment, actor);
    RunLeases::Held held(leases_, number, setup.run);
    host_.announce(
        number,
        RunEvent{
            .type = "run.started", .run = setup.run, .kind = "apply", .environment = environment});
    return recorded_run(host_, number, setup.run, actor, [&]() -> RunReport {
        const model::Revision& revision = *setup.state.current_revision();
        const model::Run* preview = nullptr;
        for (const auto& run : setup.state.runs) {
            if (run.kind == model::RunKind::preview && run.environment == environment &&
                run.revision == revision.number && run.fingerprint == fingerprint &&
                run.state == model::RunState::succeeded) {
                preview = &run;
            }
        }
        if (preview == nullptr) {
            throw Error(ErrorCode::rule, "the approved preview's evidence is missing", {},
                        "evidence-required");
        }
        targetdb::Evidence approved = load_evidence(host_.key(), preview->before_images_path);
        targetdb::ChangePlan plan = change_plan(revision, "request " + std::to_string(number));
        targetdb::ImageStore images(host_.key(), run_dir(host_.data_dir(), number));
        std::string cut_by;  // why an in-doubt run lost its connection, when discover knows
        targetdb::Outcome outcome = on_leader(*setup.environment, [&](LeaderSession& leader) {
            KeptPreflight kept(host_, number, setup.run, leader.session());
            targetdb::Outcome o = leader.session().apply(
                plan, approved, images, record_in_flight(host_, number, setup.run, actor, "apply"));
            if (o.status == targetdb::OutcomeStatus::in_doubt) {
                cut_by = leader.forward_failure();
            }
            return o;
        });
        RunReport report = record_committed_outcome(host_, number, setup.run, model::RunKind::apply,
                                                    outcome, actor, "apply");
        report.reason = cut_by;
        return report;
    });
}

RunReport Executor::revert(model::RequestNumber number, const std::string& environment,
                           const workflow::Actor& actor) {
    RunSetup setup = start(host_, number, workflow::StartRevert{environment}, environment, actor);
    RunLeases::Held held(leases_, number, setup.run);
    host_.announce(
        number,
        RunEvent{
            .type = "run.started", .run = setup.run, .kind = "revert", .environment = environment});
    return recorded_run(host_, number, setup.run, actor, [&]() -> RunReport {
        const model::Run& run = find_run(setup.state, setup.run);
        const model::Run& applied_run = find_run(setup.state, run.applies_run);
        targetdb::Evidence applied = load_evidence(host_.key(), applied_run.before_images_path);
        targetdb::ImageStore images(host_.key(), run_dir(host_.data_dir(), number));
        targetdb::Outcome outcome = on_leader(*setup.environment, [&](LeaderSession& leader) {
            targetdb::Evidence rehearsal = leader.session().preview_revert(applied, images);
            return leader.session().apply_revert(
                applied, rehearsal, images,
                record_in_flight(host_, number, setup.run, actor, "revert"));
        });
        return record_committed_outcome(host_, number, setup.run, model::RunKind::revert, outcome,
                                        actor, "revert");
    });
}

RunReport Executor::resolve(model::RequestNumber number, int run_number,
                            const workflow::Actor& actor) {
    const model::RequestState state = host_.load_request(number);
    const model::Run& run = find_run(state, run_number);
    // Who may resolve is decided before any database work: the pure rules, on the state as read.
    workflow::Decision may =
        workflow::decide(state, workflow::ResolveInDoubt{run_number, false}, actor,
                         model::wall_clock_now(), host_.workflow_config());
    if (!may.allowed()) {
        workflow::throw_refusal(*may.refusal);
    }
    const EnvironmentConfig* env = host_.find_environment(run.environment);
    if (env == nullptr) {
        throw Error(ErrorCode::config, "environment " + run.environment + " is not configured");
    }
    // The images of what this run wrote: recorded with its outcome, or written ahead of its
    // COMMIT (a server that died after sending it); else the approved preview's.
    std::string path = run.before_images_path;
    if (path.empty()) {
        std::string ahead = manifest_path(run_dir(host_.data_dir(), number), run.number);
        if (std::filesystem::exists(ahead)) {
            path = ahead;
        }
    }
    if (path.empty()) {
        for (const auto& r : state.runs) {
            if (r.kind == model::RunKind::preview && r.environment == run.environment &&
                r.fingerprint == run.fingerprint && !r.before_images_path.empty()) {
                path = r.before_images_path;
            }
        }
    }
    if (path.empty()) {
        throw Error(ErrorCode::in_doubt, "no images to resolve run " + std::to_string(run_number),
                    "ask an administrator to check the database by hand");
    }
    targetdb::Evidence applied = load_evidence(host_.key(), path);
    targetdb::ImageStore images(host_.key(), run_dir(host_.data_dir(), number));
    targetdb::Outcome outcome = on_leader(*env, [&](LeaderSession& leader) {
        return leader.session().resolve_in_doubt(run.xid ? std::to_string(*run.xid) : std::string(),
                                                 applied, images);
    });
    if (outcome.status == targetdb::OutcomeStatus::in_doubt) {
        throw Error(ErrorCode::in_doubt, "run " + std::to_string(run_number) + " is still in doubt",
                    "try again when the database is reachable");
    }
    bool committed = outcome.status == targetdb::OutcomeStatus::committed;
    workflow::Decision decision =
        host_.perform(number, workflow::ResolveInDoubt{run_number, committed}, actor);
    if (!decision.allowed()) {
        workflow::throw_refusal(*decision.refusal);
    }
    RunReport report;
    report.run = run_number;
    report.kind = run.kind;
    report.status = committed ? RunStatus::committed : RunStatus::rolled_back;
    report.resolved_by = outcome.resolved_by;
    return report;
}

int Executor::recover() {
    auto running = host_.with_ledger([](ledger::Ledger& l) { return l.running_runs(); });
    int settled = 0;
    for (const auto& candidate : running) {
        if (!leases_.settleable(candidate, model::wall_clock_now())) {
            continue;
        }
        auto number = candidate.request;
        auto state = host_.with_ledger([&](ledger::Ledger& l) { return l.load(number); });
        if (!state) {
            continue;
        }
        for (const auto& run : state->runs) {
            if (run.number != candidate.run || run.state != model::RunState::running) {
                continue;
            }
            auto starter =
                host_.with_ledger([&](ledger::Ledger& l) { return l.find_user(run.started_by); });
            if (!starter) {
                continue;
            }
            bool commit_may_have_been_sent = run.kind != model::RunKind::preview && run.xid;
            workflow::FinishRun f;
            f.run = run.number;
            if (commit_may_have_been_sent) {
                f.outcome = workflow::RunOutcome::in_doubt;
            } else {
                f.outcome = workflow::RunOutcome::failed;
                f.failure =
                    "the server running it stopped before this run sent its COMMIT; the target "
                    "rolls its transaction back";
            }
            auto decision = host_.perform(number, f, *starter);
            if (!decision.allowed()) {
                // Settled meanwhile by the run's own server or by another one.
                continue;
            }
            ++settled;
            host_.with_ledger([&](ledger::Ledger& l) {
                l.release_run_lease(number, run.number);
                return 0;
            });
            host_.log().info(
                "request {} run {}: left running by a server that is gone ({}); "
                "now {}",
                number, run.number, candidate.lease ? candidate.lease->owner : "no lease",
                commit_may_have_been_sent ? "in doubt" : "failed");
            host_.announce(
                number, RunEvent{.type = commit_may_have_been_sent ? "run.in_doubt" : "run.failed",
                                 .run = run.number,
                                 .recovered = true});
            if (!commit_may_have_been_sent) {
                continue;
            }
            try {
                RunReport resolved = resolve(number, run.number, *starter);
                host_.log().info("request {} run {}: resolved as {} ({})", number, run.number,
                                 run_status_name(resolved.status), resolved.resolved_by);
            } catch (const Error& e) {
                host_.log().warn("request {} run {}: stays in doubt: {}", number, run.number,
                                 code_name(e.code()));
            }
        }
    }
    return settled;
}

namespace {

std::chrono::system_clock::time_point wall(model::Time t) {
    return std::chrono::system_clock::time_point(t);
}

RunReport rolled_back(int run, const std::string& why) {
    RunReport report;
    report.run = run;
    report.kind = model::RunKind::live;
    report.status = RunStatus::rolled_back;
    report.reason = why;
    return report;
}

}  // namespace

RunReport Executor::start_live(model::RequestNumber number, const std::string& environment,
                               const workflow::Actor& actor) {
    RunSetup setup = start(host_, number, workflow::StartLive{environment}, environment, actor);
    const targetdb::LiveLimits limits = setup.environment->live;
    const model::Time deadline =
        workflow::live_deadline(host_.workflow_config(), find_run(setup.state, setup.run));
    host_.announce(number, RunEvent{.type = "run.started",
                                    .run = setup.run,
                                    .kind = "live",
                                    .environment = environment,
                                    .deadline = deadline});
    auto opened = live_.start(
        number, setup.run, [this, number, setup, actor, limits, deadline](LiveSlot& slot) {
            RunLeases::Held held(leases_, number, setup.run);
            try {
                slot.end(run_live(number, setup.run, setup.state, *setup.environment, limits,
                                  deadline, actor, slot));
            } catch (...) {
                slot.end_failed(std::current_exception());
            }
        });
    return opened->wait_shown();
}

RunReport Executor::run_live(model::RequestNumber number, int run, const model::RequestState& state,
                             const EnvironmentConfig& environment,
                             const targetdb::LiveLimits& limits, model::Time deadline,
                             const workflow::Actor& actor, LiveSlot& slot) {
    return recorded_run(host_, number, run, actor, [&]() -> RunReport {
        const model::Revision& revision = *state.current_revision();
        targetdb::ChangePlan plan = change_plan(revision, "request " + std::to_string(number));
        targetdb::ImageStore images(host_.key(), run_dir(host_.data_dir(), number));
        // PostgreSQL ends the transaction itself a little after the window, should this server
        // hang: the session's idle_in_transaction_session_timeout is the window plus slack.
        EnvironmentConfig live_env = environment;
        live_env.target = targetdb::live_target(environment.target, limits);
        std::string cut_by;
        targetdb::Outcome outcome = on_leader(live_env, [&](LeaderSession& leader) {
            KeptPreflight kept(host_, number, run, leader.session());
            targetdb::Outcome o = leader.session().live(
                plan, limits, images,
                [&](const targetdb::Evidence& shown) {
                    std::string path = manifest_path(images.directory(), run);
                    save_evidence(host_.key(), path, shown);
                    workflow::RecordLiveEvidence recorded{run, shown.fingerprint, counts_of(shown),
                                                          path, verify_results_text(shown)};
                    workflow::Decision d = host_.perform(number, recorded, actor);
                    if (!d.allowed()) {
                        workflow::throw_refusal(*d.refusal);
                    }
                    RunReport open;
                    open.run = run;
                    open.kind = model::RunKind::live;
                    open.status = RunStatus::open;
                    open.deadline = deadline;
                    open.fingerprint = shown.fingerprint;
                    open.evidence = shown;
                    open.preflight = kept.report();
                    host_.announce(number, RunEvent{.type = "live.open",
                                                    .run = run,
                                                    .environment = environment.target.name,
                                                    .deadline = deadline,
                                                    .evidence = &shown,
                                                    .fingerprint = shown.fingerprint});
                    slot.show(std::move(open));
                    // The transaction is open and the pair looks at its evidence.
                    fault_point("live.open");
                    return await_live(number, run, deadline, actor, slot);
                },
                record_in_flight(host_, number, run, actor, "live"));
            if (o.status == targetdb::OutcomeStatus::in_doubt) {
                cut_by = leader.forward_failure();
            }
            return o;
        });
        if (outcome.status == targetdb::OutcomeStatus::not_committed &&
            outcome.resolved_by == "rolled back") {
            if (slot.stopping()) {
                // Still running in the ledger: the server stops, nobody decided.
                throw Error(ErrorCode::unreachable,
                            "the server stopped while live run " + std::to_string(run) +
                                " was open; its transaction was rolled back",
                            "start it again (datafix live " + std::to_string(number) + " " +
                                environment.target.name + ")");
            }
            RunReport report = rolled_back(run, "cancelled or its window ended");
            host_.announce(number,
                           RunEvent{.type = "run.finished", .run = run, .outcome = &report});
            return report;
        }
        RunReport report = record_committed_outcome(host_, number, run, model::RunKind::live,
                                                    outcome, actor, "live");
        report.reason = cut_by;
        return report;
    });
}

targetdb::LiveDecision Executor::await_live(model::RequestNumber number, int run,
                                            model::Time deadline, const workflow::Actor& actor,
                                            LiveSlot& slot) {
    for (;;) {
        // The pair's approval or a cancel taken by this server decides at once; one taken by
        // another server on the same ledger is read from the ledger every second.
        auto tick =
            std::min(wall(deadline), std::chrono::system_clock::now() + std::chrono::seconds(1));
        if (auto decided = slot.wait_for_decision(tick)) {
            return *decided;
        }
        model::RequestState state = host_.load_request(number);
        const model::Run* current = workflow::reading::find_run(state, run);
        if (current == nullptr || current->state != model::RunState::running) {
            return targetdb::LiveDecision::roll_back;
        }
        if (workflow::reading::live_approved(state, *current)) {
            return targetdb::LiveDecision::commit;
        }
        if (std::chrono::system_clock::now() < wall(deadline)) {
            continue;
        }
        workflow::Decision ended =
            host_.perform(number, workflow::EndLive{run, workflow::LiveEnd::window_ended}, actor);
        if (ended.allowed()) {
            host_.log().info("request {} run {}: live window ended; rolled back", number, run);
            host_.announce(number,
                           RunEvent{.type = "live.ended", .run = run, .why = "window_ended"});
            return targetdb::LiveDecision::roll_back;
        }
        if (ended.refusal->rule != "live-committing") {
            return targetdb::LiveDecision::roll_back;
        }
        // Approved meanwhile: the next round reads the approval and commits.
    }
}

RunReport Executor::approve_live(model::RequestNumber number, const std::string& environment,
                                 const std::string& revision_hash, const std::string& fingerprint,
                                 const workflow::Actor& actor) {
    workflow::Decision decision = host_.perform(
        number, workflow::ApproveLive{environment, revision_hash, fingerprint}, actor);
    if (!decision.allowed()) {
        workflow::throw_refusal(*decision.refusal);
    }
    const model::Run* run = workflow::reading::open_live_run(decision.state, environment);
    const int number_of_run = run != nullptr ? run->number : 0;
    RunReport approved;
    approved.run = number_of_run;
    approved.kind = model::RunKind::live;
    approved.status = RunStatus::approved;
    auto slot = live_.find(number, number_of_run);
    if (slot == nullptr) {
        // Another server on the same ledger holds the transaction: it reads the approval.
        return approved;
    }
    slot->decide(targetdb::LiveDecision::commit);
    const EnvironmentConfig* env = host_.find_environment(environment);
    auto limit = env->live.window + targetdb::kLiveSlack + std::chrono::minutes(1);
    if (auto ended =
            slot->wait_ended(std::chrono::duration_cast<std::chrono::milliseconds>(limit))) {
        return *ended;
    }
    return approved;
}

RunReport Executor::cancel_live(model::RequestNumber number, const std::string& environment,
                                const workflow::Actor& actor) {
    const model::RequestState state = host_.load_request(number);
    const model::Run* run = workflow::reading::open_live_run(state, environment);
    if (run == nullptr) {
        throw Error(
            ErrorCode::rule,
            "no live run is open on " + environment + " for request " + std::to_string(number),
            "see the request with datafix show " + std::to_string(number), "live-not-open");
    }
    const int number_of_run = run->number;
    workflow::Decision decision = host_.perform(
        number, workflow::EndLive{number_of_run, workflow::LiveEnd::cancelled}, actor);
    if (!decision.allowed()) {
        workflow::throw_refusal(*decision.refusal);
    }
    host_.announce(number,
                   RunEvent{.type = "live.ended", .run = number_of_run, .why = "cancelled"});
    auto slot = live_.find(number, number_of_run);
    if (slot == nullptr) {
        return rolled_back(number_of_run, "cancelled");
    }
    slot->decide(targetdb::LiveDecision::roll_back);
    if (auto ended = slot->wait_ended(std::chrono::minutes(1))) {
        return rolled_back(number_of_run, "cancelled");
    }
    return rolled_back(number_of_run, "cancelled");
}

}  // namespace datafix::run
