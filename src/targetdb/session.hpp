// One guarded session on one environment: the only way datafix changes a target database.
// Opening it runs every guard (leader, pin, role) before anything else; its operations are named
// (preview, apply, revert, resolve) and none of them accepts free SQL from a caller.
#pragma once

#include <memory>
#include <string>

#include "targetdb/change_plan.hpp"
#include "targetdb/environment_target.hpp"
#include "targetdb/evidence.hpp"
#include "targetdb/image_store.hpp"
#include "targetdb/live.hpp"
#include "targetdb/outcome.hpp"
#include "targetdb/preflight.hpp"

namespace datafix::targetdb {

// What the guards established; shown to the pair and recorded with the run.
struct SessionFacts {
    std::string environment;
    std::string system_identifier;
    std::string server_version;
    std::string login;  // session_user
    std::string role;   // current_user after SET ROLE
    bool login_is_superuser = false;
    bool role_bypasses_rls = false;  // reported, not refused: the application's owner may
    int backend_pid = 0;
};

struct RevertOptions {
    // Restore even rows whose current value is no longer the after-image.
    bool force = false;
};

class Session {
  public:
    // Connects and runs the guards; throws Error(unreachable) or Error(target_refused).
    static Session open(const EnvironmentTarget& target);
    ~Session();
    Session(Session&&) noexcept;
    Session& operator=(Session&&) noexcept;

    const SessionFacts& facts() const;

    // Rehearses the change in a REPEATABLE READ transaction and rolls it back: counts, images,
    // verify results. Rehearses twice to learn which after-image columns are volatile.
    // Throws Error(count_mismatch) when a count differs from the declared one.
    Evidence preview(const ChangePlan& plan, ImageStore& images);

    // What the change will meet here (privileges, row security, triggers, locks, estimates), read
    // as the role in a READ ONLY transaction that is rolled back. preview and apply build one
    // first and explain a failed statement or a count mismatch with it.
    PreflightReport preflight(const ChangePlan& plan);
    // The report the last preflight, preview or apply built; nullptr before the first.
    const PreflightReport* last_preflight() const;

    // Executes the change again and commits only if it sees what `approved` recorded. A lost
    // COMMIT is resolved before returning (OutcomeStatus::in_doubt when it could not be).
    Outcome apply(const ChangePlan& plan, const Evidence& approved, ImageStore& images,
                  const BeforeCommit& before_commit, const AfterCommitSent& fault = {});

    // Live mode (live.hpp): executes the change once in a transaction that stays open, captures
    // what an apply captures (counts, images of the statements and the write closure, verify
    // results, fingerprint) and hands it to `await`; commits as apply does (xid and pid through
    // `before_commit` first) when it answers commit, else rolls back (OutcomeStatus::
    // not_committed, its images removed). Refuses (Error refused, rolled back) a change over
    // limits.max_rows. Open the session with live_target() so PostgreSQL ends a transaction
    // left idle past the window.
    Outcome live(const ChangePlan& plan, const LiveLimits& limits, ImageStore& images,
                 const AwaitLiveDecision& await, const BeforeCommit& before_commit,
                 const AfterCommitSent& fault = {});

    // Rehearses restoring the before-images of an applied change. Conflicts (rows no longer equal
    // to their after-image) are listed in the evidence; without `force` they make it refuse
    // (Error conflict).
    Evidence preview_revert(const Evidence& applied, ImageStore& images,
                            const RevertOptions& options = {});
    Outcome apply_revert(const Evidence& applied, const Evidence& approved_revert,
                         ImageStore& images, const BeforeCommit& before_commit,
                         const RevertOptions& options = {}, const AfterCommitSent& fault = {});

    // Decides whether transaction `xid` committed: pg_xact_status, else (xid empty or too old)
    // the current rows compared with the before- and after-images in `applied`.
    Outcome resolve_in_doubt(const std::string& xid, const Evidence& applied, ImageStore& images);

    struct State;

  private:
    Session();
    std::unique_ptr<State> state_;
};

}  // namespace datafix::targetdb
