// Attaching a change: revision N with its hash. A new revision voids every approval and every
// piece of evidence, and the request starts again at the first environment.
#include <utility>

#include "core/hash.hpp"
#include "workflow/progress.hpp"
#include "workflow/reading.hpp"
#include "workflow/revision_hash.hpp"
#include "workflow/rules.hpp"

namespace datafix::workflow::rules {

Decision attach_revision(const Context& ctx, const AttachRevision& action) {
    if (auto r = require_open(ctx)) {
        return refuse(ctx.state, *r);
    }
    if (auto r = require_driver(ctx)) {
        return refuse(ctx.state, *r);
    }
    if (action.change_sql.empty() || action.statements.empty()) {
        return refuse(ctx.state, refusal("revision-empty", "the change has no statements",
                                         "attach a change file with at least one statement",
                                         ErrorCode::invalid_input));
    }
    for (const model::StatementInfo& statement : action.statements) {
        if (statement.expected_rows < 0) {
            return refuse(
                ctx.state,
                refusal("expected-rows-required",
                        "every statement needs an expected row count of 0 or more",
                        "declare the expected count of each statement", ErrorCode::invalid_input));
        }
    }
    if (auto r = require_idle(ctx)) {
        return refuse(ctx.state, *r);
    }
    if (const model::Run* run = reading::any_in_doubt_run(ctx.state)) {
        return refuse(ctx.state, *require_resolved(ctx, run->environment));
    }
    std::string hash =
        revision_hash(action.change_sql, action.verify_sql, action.statements, action.all_rows);
    if (hash == current_revision_hash(ctx.state)) {
        return refuse(ctx.state, refusal("revision-unchanged",
                                         "this change is identical to the current "
                                         "revision",
                                         "nothing to do: continue with the current revision"));
    }
    // Environments whose data holds an earlier revision: the new one would meet changed rows
    // there (its preview matching none). They are put back first, once the driver says so.
    const std::vector<HeldChange> holding = held_changes(ctx.state, ctx.config);
    std::string held;
    std::string held_words;
    for (std::size_t i = 0; i < holding.size(); ++i) {
        held += (i == 0 ? "" : ",") + holding[i].environment;
        held_words +=
            (i == 0 ? "" : (i + 1 == holding.size() ? " and " : ", ")) + holding[i].environment;
    }
    if (!held.empty() && !action.revert_first) {
        return refuse(
            ctx.state,
            refusal("revision-needs-revert",
                    "the data in " + held_words +
                        " still holds the current revision's change; a new revision "
                        "starts again at " +
                        ctx.config.environments.front().name + " once that data is put back",
                    "attach it with the reverts first (" +
                        command(ctx, "change", "--change FILE --expect ROWS --revert-first") +
                        "): the pair approves each revert, then the driver reverts"));
    }
    model::RequestState next = ctx.state;
    model::Revision revision;
    revision.number = next.revisions.empty() ? 1 : next.revisions.back().number + 1;
    revision.hash = hash;
    revision.change_hash = sha256_hex(action.change_sql);
    revision.change_sql = action.change_sql;
    revision.verify_sql = action.verify_sql;
    revision.statements = action.statements;
    revision.all_rows = action.all_rows;
    revision.attached_by = ctx.actor.id;
    revision.attached_at = ctx.now;
    int voided = 0;
    for (model::Approval& approval : next.approvals) {
        if (!approval.voided) {
            approval.voided = true;
            ++voided;
        }
    }
    renew_lease(next, ctx);
    std::string detail = "revision=" + std::to_string(revision.number) +
                         " statements=" + std::to_string(revision.statements.size()) +
                         " voided_approvals=" + std::to_string(voided);
    if (!held.empty()) {
        detail += " revert_first=" + held;
    }
    next.revisions.push_back(std::move(revision));
    return allow(std::move(next),
                 {event(ctx, "revision.attached", {.statement_hash = hash, .detail = detail})});
}

}  // namespace datafix::workflow::rules
