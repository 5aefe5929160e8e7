// Runs on a target environment, reported step by step through the workflow.
#include "server/executor.hpp"

#include <algorithm>
#include <chrono>
#include <limits>

#include <filesystem>

#include "core/fault.hpp"
#include "server/api_error.hpp"
#include "server/evidence_file.hpp"
#include "server/leader.hpp"
#include "server/preflight_file.hpp"
#include "server/state_json.hpp"
#include "sql/analysis.hpp"
#include "targetdb/plan_builder.hpp"
#include "targetdb/session.hpp"
#include "workflow/decide.hpp"
#include "workflow/progress.hpp"
#include "workflow/reading.hpp"

namespace datafix::server {

namespace {

const model::Run& find_run(const model::RequestState& state, int number) {
    for (const auto& run : state.runs) {
        if (run.number == number) {
            return run;
        }
    }
    throw ApiError(ErrorCode::not_found, "run-not-found",
                   "no run " + std::to_string(number) + " on this request");
}

std::string run_dir(const Config& config, model::RequestNumber number) {
    std::string dir = config.server.data_dir + "/request-" + std::to_string(number);
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

RunSetup start(Context& context, model::RequestNumber number, const workflow::Action& action,
               const std::string& environment, const workflow::Actor& actor) {
    const EnvironmentConfig* configured = context.config().find_environment(environment);
    // Before the workflow records anything: an unmapped person is refused and nothing changes.
    std::shared_ptr<const EnvironmentConfig> as_actor;
    if (configured != nullptr) {
        as_actor = std::make_shared<const EnvironmentConfig>(as_person(*configured, actor));
    }
    workflow::Decision decision = context.perform(number, action, actor);
    if (!decision.allowed()) {
        throw_refusal(*decision.refusal);
    }
    RunSetup setup{decision.state, decision.run.value_or(0), as_actor};
    if (setup.environment == nullptr || setup.run == 0) {
        throw Error(ErrorCode::internal, "the workflow started no run on " + environment);
    }
    return setup;
}

void finish(Context& context, model::RequestNumber number, workflow::FinishRun finish_run,
            const workflow::Actor& actor) {
    workflow::Decision decision = context.perform(number, finish_run, actor);
    if (!decision.allowed()) {
        context.log().error("request {} run {}: outcome not recorded: {}", number, finish_run.run,
                            decision.refusal->rule);
    }
}

void fail(Context& context, model::RequestNumber number, int run, const Error& error,
          const workflow::Actor& actor) {
    workflow::FinishRun f;
    f.run = run;
    f.outcome = workflow::RunOutcome::failed;
    f.failure = failure_text(error);
    // The database's errors are kept value-free by the target layer (SQLSTATE, condition and the
    // names of constraint, table, raising function), so operators see them; other failures may
    // name rows, so the log has their code only.
    context.log().warn("request {} run {}: failed: {}", number, run,
                       error.code() == ErrorCode::database ? failure_text(error)
                                                           : std::string(code_name(error.code())));
    finish(context, number, std::move(f), actor);
    context.announce(number, "run.failed",
                     {{"run", run}, {"error", std::string(code_name(error.code()))}});
}

targetdb::BeforeCommit record_in_flight(Context& context, model::RequestNumber number, int run,
                                        const workflow::Actor& actor, std::string step) {
    return [&context, number, run, actor, step](const std::string& xid, int backend_pid,
                                                const targetdb::Evidence& seen) {
        // Write-ahead: what this run saw, where resolve finds it, before the ledger hears of the
        // xid and before COMMIT is sent.
        save_evidence(context.key(), manifest_path(run_dir(context.config(), number), run), seen);
        workflow::RecordInFlight in_flight{run, std::stoll(xid), backend_pid};
        workflow::Decision decision = context.perform(number, in_flight, actor);
        if (!decision.allowed()) {
            throw_refusal(*decision.refusal);
        }
        // The ledger holds the xid; COMMIT has not been sent.
        fault_point(step + ".before_commit");
    };
}

// Records a committed / not committed / in-doubt outcome and what the apply captured.
nlohmann::json record_outcome(Context& context, model::RequestNumber number, int run,
                              const targetdb::Outcome& outcome, const workflow::Actor& actor) {
    workflow::FinishRun f;
    f.run = run;
    std::string dir = run_dir(context.config(), number);
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
        save_evidence(context.key(), path, outcome.applied);
        f.before_images_path = path;
        f.after_images_path = path;
        f.counts = counts_of(outcome.applied);
        f.verify_results = verify_results_text(outcome.applied);
    }
    finish(context, number, std::move(f), actor);
    nlohmann::json summary = {
        {"run", run},
        {"status", outcome.status == targetdb::OutcomeStatus::committed  ? "committed"
                   : outcome.status == targetdb::OutcomeStatus::in_doubt ? "in_doubt"
                                                                         : "not_committed"},
        {"resolved_by", outcome.resolved_by},
        {"xid", outcome.xid}};
    if (!outcome.applied.statements.empty()) {
        summary["evidence"] = evidence_summary(outcome.applied);
    }
    context.announce(number, "run.finished", summary);
    return summary;
}

// Records the outcome of a run whose COMMIT was sent. When the ledger cannot record it, the run
// is never turned into "failed" (its transaction may have committed, and the same approval must
// not apply twice): it stays open for recovery, and the caller hears "in doubt".
nlohmann::json record_committed_outcome(Context& context, model::RequestNumber number, int run,
                                        const targetdb::Outcome& outcome,
                                        const workflow::Actor& actor, const std::string& step) {
    fault_point(step + ".after_commit");
    try {
        fault_point(step + ".record_outcome");  // ":fail" stands for a ledger that cannot write
        return record_outcome(context, number, run, outcome, actor);
    } catch (const ApiError&) {
        throw;
    } catch (const std::exception& e) {
        context.log().error("request {} run {}: the ledger could not record the outcome: {}",
                            number, run, e.what());
        throw ApiError(ErrorCode::in_doubt, "outcome-not-recorded",
                       "run " + std::to_string(run) +
                           " reached its COMMIT, but the ledger could not record the outcome",
                       "free the ledger's storage; the server settles the run when it can "
                       "(or datafix resolve " +
                           std::to_string(number) + " " + std::to_string(run) + ")");
    }
}

// Runs the body of a started run. A failure is recorded on the run (FinishRun failed) before it
// propagates, so no run stays "running"; in-doubt and not-committed outcomes were recorded by
// record_outcome already and only propagate.
template <class Body>
nlohmann::json recorded_run(Context& context, model::RequestNumber number, int run,
                            const workflow::Actor& actor, Body&& body) {
    try {
        return body();
    } catch (const ApiError& e) {
        if (e.code() != ErrorCode::in_doubt && e.rule() != "not-committed") {
            fail(context, number, run, e, actor);
        }
        throw;
    } catch (const Error& e) {
        fail(context, number, run, e, actor);
        throw;
    } catch (const std::exception& e) {
        fail(context, number, run, Error(ErrorCode::internal, e.what()), actor);
        throw;
    }
}

}  // namespace

targetdb::ChangePlan change_plan(const model::Revision& revision, const std::string& name) {
    sql::Analysis change = sql::analyze(revision.change_sql, sql::FileRole::change, "change.sql");
    if (change.statements.size() != revision.statements.size()) {
        throw ApiError(ErrorCode::internal, "stored-change-mismatch",
                       "the stored change no longer has the statements it was attached with",
                       "attach a new revision (datafix change N --change FILE --expect ROWS)");
    }
    std::vector<std::optional<long long>> expected;
    for (const auto& s : revision.statements) {
        expected.push_back(s.expected_rows);
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

Executor::Executor(Context& context, ServerIdentity identity)
    : context_(context), leases_(context, std::move(identity)) {}

void Executor::keep_leases(std::function<void()> after_sweep) {
    leases_.start_heartbeat([this, after_sweep = std::move(after_sweep)] {
        if (int settled = recover(); settled > 0) {
            context_.log().info("recovery settled {} runs whose server is gone", settled);
        }
        if (after_sweep) {
            after_sweep();
        }
    });
}

nlohmann::json Executor::preview(model::RequestNumber number, const std::string& environment,
                                 const workflow::Actor& actor) {
    RunSetup setup =
        start(context_, number, workflow::StartPreview{environment}, environment, actor);
    RunLeases::Held held(leases_, number, setup.run);
    context_.announce(number, "run.started",
                      {{"run", setup.run}, {"kind", "preview"}, {"environment", environment}});
    return recorded_run(context_, number, setup.run, actor, [&]() -> nlohmann::json {
        const model::Revision& revision = *setup.state.current_revision();
        targetdb::ChangePlan plan = change_plan(revision, "request " + std::to_string(number));
        targetdb::ImageStore images(context_.key(), run_dir(context_.config(), number));
        // The leader is found again at every step; the report the preview built is kept with
        // the run, also when the preview fails (it is what explains the failure).
        auto [evidence, preflight] = on_leader(*setup.environment, [&](LeaderSession& leader) {
            KeptPreflight kept(context_, number, setup.run, leader.session());
            targetdb::Evidence rehearsed = leader.session().preview(plan, images);
            fault_point("preview.captured");
            return std::pair{std::move(rehearsed), kept.json()};
        });

        std::string path = manifest_path(images.directory(), setup.run);
        save_evidence(context_.key(), path, evidence);
        workflow::FinishRun f;
        f.run = setup.run;
        f.outcome = workflow::RunOutcome::succeeded;
        f.counts = counts_of(evidence);
        f.fingerprint = evidence.fingerprint;
        f.before_images_path = path;
        f.after_images_path = path;
        f.verify_results = verify_results_text(evidence);
        finish(context_, number, std::move(f), actor);
        nlohmann::json summary = evidence_summary(evidence);
        context_.announce(number, "run.finished",
                          {{"run", setup.run}, {"status", "previewed"}, {"evidence", summary}});
        return {{"run", setup.run},
                {"status", "previewed"},
                {"evidence", summary},
                {"preflight", preflight}};
    });
}

nlohmann::json Executor::apply(model::RequestNumber number, const std::string& environment,
                               const std::string& fingerprint, const workflow::Actor& actor) {
    RunSetup setup =
        start(context_, number, workflow::StartApply{environment, fingerprint}, environment, actor);
    RunLeases::Held held(leases_, number, setup.run);
    context_.announce(number, "run.started",
                      {{"run", setup.run}, {"kind", "apply"}, {"environment", environment}});
    return recorded_run(context_, number, setup.run, actor, [&]() -> nlohmann::json {
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
            throw ApiError(ErrorCode::rule, "evidence-required",
                           "the approved preview's evidence is missing");
        }
        targetdb::Evidence approved = load_evidence(context_.key(), preview->before_images_path);
        targetdb::ChangePlan plan = change_plan(revision, "request " + std::to_string(number));
        targetdb::ImageStore images(context_.key(), run_dir(context_.config(), number));
        std::string cut_by;  // why an in-doubt run lost its connection, when discover knows
        targetdb::Outcome outcome = on_leader(*setup.environment, [&](LeaderSession& leader) {
            KeptPreflight kept(context_, number, setup.run, leader.session());
            targetdb::Outcome o = leader.session().apply(
                plan, approved, images,
                record_in_flight(context_, number, setup.run, actor, "apply"));
            if (o.status == targetdb::OutcomeStatus::in_doubt) {
                cut_by = leader.forward_failure();
            }
            return o;
        });
        nlohmann::json summary =
            record_committed_outcome(context_, number, setup.run, outcome, actor, "apply");
        if (outcome.status == targetdb::OutcomeStatus::in_doubt) {
            throw ApiError(ErrorCode::in_doubt, "run-in-doubt",
                           "the commit of run " + std::to_string(setup.run) +
                               " was sent and its outcome is not known yet" +
                               (cut_by.empty() ? "" : ": " + cut_by),
                           "resolve it: datafix resolve " + std::to_string(number) + " " +
                               std::to_string(setup.run),
                           summary);
        }
        if (outcome.status == targetdb::OutcomeStatus::not_committed) {
            throw ApiError(ErrorCode::database, "not-committed",
                           "the apply did not commit; nothing changed",
                           "preview again and ask the pair to approve", summary);
        }
        return summary;
    });
}

nlohmann::json Executor::revert(model::RequestNumber number, const std::string& environment,
                                const workflow::Actor& actor) {
    RunSetup setup =
        start(context_, number, workflow::StartRevert{environment}, environment, actor);
    RunLeases::Held held(leases_, number, setup.run);
    context_.announce(number, "run.started",
                      {{"run", setup.run}, {"kind", "revert"}, {"environment", environment}});
    return recorded_run(context_, number, setup.run, actor, [&]() -> nlohmann::json {
        const model::Run& run = find_run(setup.state, setup.run);
        const model::Run& applied_run = find_run(setup.state, run.applies_run);
        targetdb::Evidence applied = load_evidence(context_.key(), applied_run.before_images_path);
        targetdb::ImageStore images(context_.key(), run_dir(context_.config(), number));
        targetdb::Outcome outcome = on_leader(*setup.environment, [&](LeaderSession& leader) {
            targetdb::Evidence rehearsal = leader.session().preview_revert(applied, images);
            return leader.session().apply_revert(
                applied, rehearsal, images,
                record_in_flight(context_, number, setup.run, actor, "revert"));
        });
        nlohmann::json summary =
            record_committed_outcome(context_, number, setup.run, outcome, actor, "revert");
        if (outcome.status == targetdb::OutcomeStatus::in_doubt) {
            throw ApiError(ErrorCode::in_doubt, "run-in-doubt",
                           "the commit of the revert was sent and its outcome is not known yet",
                           "resolve it: datafix resolve " + std::to_string(number) + " " +
                               std::to_string(setup.run),
                           summary);
        }
        return summary;
    });
}

nlohmann::json Executor::resolve(model::RequestNumber number, int run_number,
                                 const workflow::Actor& actor) {
    const model::RequestState state = context_.load_request(number);
    const model::Run& run = find_run(state, run_number);
    // Who may resolve is decided before any database work: the pure rules, on the state as read.
    workflow::Decision may =
        workflow::decide(state, workflow::ResolveInDoubt{run_number, false}, actor,
                         model::wall_clock_now(), context_.config().workflow());
    if (!may.allowed()) {
        throw_refusal(*may.refusal);
    }
    const EnvironmentConfig* env = context_.config().find_environment(run.environment);
    if (env == nullptr) {
        throw Error(ErrorCode::config, "environment " + run.environment + " is not configured");
    }
    // The images of what this run wrote: recorded with its outcome, or written ahead of its
    // COMMIT (a server that died after sending it); else the approved preview's.
    std::string path = run.before_images_path;
    if (path.empty()) {
        std::string ahead = manifest_path(run_dir(context_.config(), number), run.number);
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
    targetdb::Evidence applied = load_evidence(context_.key(), path);
    targetdb::ImageStore images(context_.key(), run_dir(context_.config(), number));
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
        context_.perform(number, workflow::ResolveInDoubt{run_number, committed}, actor);
    if (!decision.allowed()) {
        throw_refusal(*decision.refusal);
    }
    return {{"run", run_number},
            {"status", committed ? "committed" : "rolled_back"},
            {"resolved_by", outcome.resolved_by}};
}

int Executor::recover() {
    auto running = context_.with_ledger([](ledger::Ledger& l) { return l.running_runs(); });
    int settled = 0;
    for (const auto& candidate : running) {
        if (!leases_.settleable(candidate, model::wall_clock_now())) {
            continue;
        }
        auto number = candidate.request;
        auto state = context_.with_ledger([&](ledger::Ledger& l) { return l.load(number); });
        if (!state) {
            continue;
        }
        for (const auto& run : state->runs) {
            if (run.number != candidate.run || run.state != model::RunState::running) {
                continue;
            }
            auto starter = context_.with_ledger(
                [&](ledger::Ledger& l) { return l.find_user(run.started_by); });
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
            auto decision = context_.perform(number, f, *starter);
            if (!decision.allowed()) {
                // Settled meanwhile by the run's own server or by another one.
                continue;
            }
            ++settled;
            context_.with_ledger([&](ledger::Ledger& l) {
                l.release_run_lease(number, run.number);
                return 0;
            });
            context_.log().info(
                "request {} run {}: left running by a server that is gone ({}); "
                "now {}",
                number, run.number, candidate.lease ? candidate.lease->owner : "no lease",
                commit_may_have_been_sent ? "in doubt" : "failed");
            context_.announce(number, commit_may_have_been_sent ? "run.in_doubt" : "run.failed",
                              {{"run", run.number}, {"recovered", true}});
            if (!commit_may_have_been_sent) {
                continue;
            }
            try {
                auto resolved = resolve(number, run.number, *starter);
                context_.log().info("request {} run {}: resolved as {} ({})", number, run.number,
                                    resolved.value("status", ""),
                                    resolved.value("resolved_by", ""));
            } catch (const Error& e) {
                context_.log().warn("request {} run {}: stays in doubt: {}", number, run.number,
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

nlohmann::json rolled_back_json(int run, const std::string& why) {
    return {{"run", run}, {"status", "rolled_back"}, {"reason", why}};
}

}  // namespace

nlohmann::json Executor::start_live(model::RequestNumber number, const std::string& environment,
                                    const workflow::Actor& actor) {
    RunSetup setup = start(context_, number, workflow::StartLive{environment}, environment, actor);
    const targetdb::LiveLimits limits = setup.environment->live;
    const model::Time deadline =
        workflow::live_deadline(context_.config().workflow(), find_run(setup.state, setup.run));
    context_.announce(number, "run.started",
                      {{"run", setup.run},
                       {"kind", "live"},
                       {"environment", environment},
                       {"deadline", format_time(deadline)}});
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

nlohmann::json Executor::run_live(model::RequestNumber number, int run,
                                  const model::RequestState& state,
                                  const EnvironmentConfig& environment,
                                  const targetdb::LiveLimits& limits, model::Time deadline,
                                  const workflow::Actor& actor, LiveSlot& slot) {
    return recorded_run(context_, number, run, actor, [&]() -> nlohmann::json {
        const model::Revision& revision = *state.current_revision();
        targetdb::ChangePlan plan = change_plan(revision, "request " + std::to_string(number));
        targetdb::ImageStore images(context_.key(), run_dir(context_.config(), number));
        // PostgreSQL ends the transaction itself a little after the window, should this server
        // hang: the session's idle_in_transaction_session_timeout is the window plus slack.
        EnvironmentConfig live_env = environment;
        live_env.target = targetdb::live_target(environment.target, limits);
        std::string cut_by;
        targetdb::Outcome outcome = on_leader(live_env, [&](LeaderSession& leader) {
            KeptPreflight kept(context_, number, run, leader.session());
            targetdb::Outcome o = leader.session().live(
                plan, limits, images,
                [&](const targetdb::Evidence& shown) {
                    std::string path = manifest_path(images.directory(), run);
                    save_evidence(context_.key(), path, shown);
                    workflow::RecordLiveEvidence recorded{run, shown.fingerprint, counts_of(shown),
                                                          path, verify_results_text(shown)};
                    workflow::Decision d = context_.perform(number, recorded, actor);
                    if (!d.allowed()) {
                        throw_refusal(*d.refusal);
                    }
                    nlohmann::json summary = evidence_summary(shown);
                    auto left = std::chrono::duration_cast<std::chrono::seconds>(
                        wall(deadline) - std::chrono::system_clock::now());
                    nlohmann::json open = {{"run", run},
                                           {"status", "open"},
                                           {"deadline", format_time(deadline)},
                                           {"seconds_left", std::max<long long>(0, left.count())},
                                           {"fingerprint", shown.fingerprint},
                                           {"evidence", summary},
                                           {"preflight", kept.json()}};
                    context_.announce(number, "live.open",
                                      {{"run", run},
                                       {"environment", environment.target.name},
                                       {"deadline", format_time(deadline)},
                                       {"fingerprint", shown.fingerprint},
                                       {"evidence", summary}});
                    slot.show(std::move(open));
                    // The transaction is open and the pair looks at its evidence.
                    fault_point("live.open");
                    return await_live(number, run, deadline, actor, slot);
                },
                record_in_flight(context_, number, run, actor, "live"));
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
            nlohmann::json summary = rolled_back_json(run, "cancelled or its window ended");
            context_.announce(number, "run.finished", summary);
            return summary;
        }
        nlohmann::json summary =
            record_committed_outcome(context_, number, run, outcome, actor, "live");
        if (outcome.status == targetdb::OutcomeStatus::in_doubt) {
            throw ApiError(
                ErrorCode::in_doubt, "run-in-doubt",
                "the commit of live run " + std::to_string(run) +
                    " was sent and its outcome is not known yet" +
                    (cut_by.empty() ? "" : ": " + cut_by),
                "resolve it: datafix resolve " + std::to_string(number) + " " + std::to_string(run),
                summary);
        }
        if (outcome.status == targetdb::OutcomeStatus::not_committed) {
            throw ApiError(ErrorCode::database, "not-committed",
                           "the live run did not commit; nothing changed",
                           "start it again (datafix live " + std::to_string(number) + " " +
                               environment.target.name + ")",
                           summary);
        }
        return summary;
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
        model::RequestState state = context_.load_request(number);
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
        workflow::Decision ended = context_.perform(
            number, workflow::EndLive{run, workflow::LiveEnd::window_ended}, actor);
        if (ended.allowed()) {
            context_.log().info("request {} run {}: live window ended; rolled back", number, run);
            context_.announce(number, "live.ended", {{"run", run}, {"why", "window_ended"}});
            return targetdb::LiveDecision::roll_back;
        }
        if (ended.refusal->rule != "live-committing") {
            return targetdb::LiveDecision::roll_back;
        }
        // Approved meanwhile: the next round reads the approval and commits.
    }
}

nlohmann::json Executor::approve_live(model::RequestNumber number, const std::string& environment,
                                      const std::string& revision_hash,
                                      const std::string& fingerprint,
                                      const workflow::Actor& actor) {
    workflow::Decision decision = context_.perform(
        number, workflow::ApproveLive{environment, revision_hash, fingerprint}, actor);
    if (!decision.allowed()) {
        throw_refusal(*decision.refusal);
    }
    const model::Run* run = workflow::reading::open_live_run(decision.state, environment);
    const int number_of_run = run != nullptr ? run->number : 0;
    auto slot = live_.find(number, number_of_run);
    if (slot == nullptr) {
        // Another server on the same ledger holds the transaction: it reads the approval.
        return {{"run", number_of_run}, {"status", "approved"}};
    }
    slot->decide(targetdb::LiveDecision::commit);
    const EnvironmentConfig* env = context_.config().find_environment(environment);
    auto limit = env->live.window + targetdb::kLiveSlack + std::chrono::minutes(1);
    if (auto ended =
            slot->wait_ended(std::chrono::duration_cast<std::chrono::milliseconds>(limit))) {
        return *ended;
    }
    return {{"run", number_of_run}, {"status", "approved"}};
}

nlohmann::json Executor::cancel_live(model::RequestNumber number, const std::string& environment,
                                     const workflow::Actor& actor) {
    const model::RequestState state = context_.load_request(number);
    const model::Run* run = workflow::reading::open_live_run(state, environment);
    if (run == nullptr) {
        throw ApiError(
            ErrorCode::rule, "live-not-open",
            "no live run is open on " + environment + " for request " + std::to_string(number),
            "see the request with datafix show " + std::to_string(number));
    }
    const int number_of_run = run->number;
    workflow::Decision decision = context_.perform(
        number, workflow::EndLive{number_of_run, workflow::LiveEnd::cancelled}, actor);
    if (!decision.allowed()) {
        throw_refusal(*decision.refusal);
    }
    context_.announce(number, "live.ended", {{"run", number_of_run}, {"why", "cancelled"}});
    auto slot = live_.find(number, number_of_run);
    if (slot == nullptr) {
        return rolled_back_json(number_of_run, "cancelled");
    }
    slot->decide(targetdb::LiveDecision::roll_back);
    if (auto ended = slot->wait_ended(std::chrono::minutes(1))) {
        return rolled_back_json(number_of_run, "cancelled");
    }
    return rolled_back_json(number_of_run, "cancelled");
}

}  // namespace datafix::server
