// A request's conversation: its people comment, and the pair or the requesting product owner
// may send it back to the driver ("request changes"), which voids the approvals still waiting
// to be used and holds new ones until the driver answers with a new preview or revision. The
// text of both is private like the reason: the audit trail records only its number.
#include <utility>

#include "workflow/reading.hpp"
#include "workflow/rules.hpp"

namespace datafix::workflow::rules {

namespace {

// Long enough for a paragraph with a pasted error message; a comment is not a file store.
constexpr std::size_t kMaxCommentBytes = 8000;

std::optional<Refusal> check_text(const std::string& text, std::string_view what,
                                  std::string_view hint) {
    if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
        return refusal(std::string(what) + "-empty", std::string(what) + " is empty",
                       std::string(hint), ErrorCode::invalid_input);
    }
    if (text.size() > kMaxCommentBytes) {
        return refusal(
            std::string(what) + "-too-long",
            std::string(what) + " is longer than " + std::to_string(kMaxCommentBytes) + " bytes",
            "say it shorter, or link to a document", ErrorCode::invalid_input);
    }
    return std::nullopt;
}

model::Comment new_comment(const Context& ctx, model::CommentKind kind, std::string text) {
    model::Comment c;
    c.number = ctx.state.comments.empty() ? 1 : ctx.state.comments.back().number + 1;
    c.kind = kind;
    c.text = std::move(text);
    c.author = ctx.actor.id;
    c.at = ctx.now;
    const model::Revision* revision = ctx.state.current_revision();
    c.revision = revision != nullptr ? revision->number : 0;
    c.after_run = ctx.state.runs.empty() ? 0 : ctx.state.runs.back().number;
    return c;
}

// An approval of the current revision that no apply has used yet.
bool pending(const model::RequestState& state, const model::Approval& a, int revision) {
    if (a.voided || a.revision != revision) {
        return false;
    }
    return reading::applied_run(state, a.environment, revision) == nullptr;
}

}  // namespace

Decision add_comment(const Context& ctx, const AddComment& action) {
    if (!reading::is_member(ctx.state, ctx.actor.id)) {
        return refuse(
            ctx.state,
            refusal("comment-by-member",
                    "only the request's people (its product owner, driver and pair) "
                    "comment on it",
                    "join as the pair first (" + command(ctx, "pair") + ")", ErrorCode::forbidden));
    }
    if (auto r = check_text(action.text, "comment", "write what you want to say")) {
        return refuse(ctx.state, *r);
    }
    model::RequestState next = ctx.state;
    next.comments.push_back(new_comment(ctx, model::CommentKind::comment, action.text));
    const std::string detail = "comment=" + std::to_string(next.comments.back().number);
    return allow(std::move(next), {event(ctx, "comment.added", {.detail = detail})});
}

Decision request_changes(const Context& ctx, const RequestChanges& action) {
    if (auto r = require_open(ctx)) {
        return refuse(ctx.state, *r);
    }
    const bool reviewer =
        reading::is_pair(ctx.state, ctx.actor.id) || ctx.actor.id == ctx.state.request.requested_by;
    if (reading::is_driver(ctx.state, ctx.actor.id) || !reviewer) {
        return refuse(ctx.state,
                      refusal("changes-by-reviewer",
                              "only the pair or the requesting product owner asks for changes",
                              "comment instead (" + command(ctx, "comment", "--text TEXT") + ")",
                              ErrorCode::forbidden));
    }
    const model::Revision* revision = ctx.state.current_revision();
    if (revision == nullptr) {
        return refuse(ctx.state,
                      refusal("revision-required", "no change is attached to the request yet",
                              "comment instead (" + command(ctx, "comment", "--text TEXT") + ")"));
    }
    if (auto r = check_text(
            action.reason, "reason",
            "say what should change (" + command(ctx, "request-changes", "--reason TEXT") + ")")) {
        return refuse(ctx.state, *r);
    }
    model::RequestState next = ctx.state;
    std::string voided;
    for (model::Approval& a : next.approvals) {
        if (pending(ctx.state, a, revision->number)) {
            a.voided = true;
            voided += (voided.empty() ? "" : ",") + std::to_string(a.number);
        }
    }
    next.comments.push_back(new_comment(ctx, model::CommentKind::changes_requested, action.reason));
    const std::string detail = "comment=" + std::to_string(next.comments.back().number) +
                               " revision=" + std::to_string(revision->number) +
                               (voided.empty() ? "" : " voided=" + voided);
    return allow(std::move(next), {event(ctx, "changes.requested",
                                         {.statement_hash = revision->hash, .detail = detail})});
}

std::optional<Refusal> require_no_changes_requested(const Context& ctx) {
    const model::Comment* asked = reading::pending_changes_request(ctx.state);
    if (asked == nullptr) {
        return std::nullopt;
    }
    return refusal("changes-requested",
                   "changes were requested on revision " + std::to_string(asked->revision) +
                       " (comment " + std::to_string(asked->number) +
                       "); the driver has not answered yet",
                   "the driver previews again (" + command(ctx, "preview", "ENVIRONMENT") +
                       ") or attaches a new revision (" +
                       command(ctx, "change", "--change FILE --expect ROWS") + ")");
}

}  // namespace datafix::workflow::rules
