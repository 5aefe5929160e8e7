// Request state to JSON for the API; private fields are left out here, in one place.
#include "server/state_json.hpp"

#include "workflow/reading.hpp"

#include <algorithm>
#include <chrono>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "workflow/progress.hpp"

namespace datafix::server {

namespace {

// A run's failure is stored as "<code>: <database message>"; only the code leaves the server,
// since the message may quote a value.
std::string failure_code(const std::string& failure) {
    auto colon = failure.find(':');
    return colon == std::string::npos ? failure : failure.substr(0, colon);
}

}  // namespace

std::string format_time(model::Time t) {
    return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z",
                       std::chrono::time_point_cast<std::chrono::seconds>(t));
}

nlohmann::json person_json(const model::Person& person) {
    return {{"id", person.id},
            {"name", person.name},
            {"email", person.email},
            {"role", std::string(model::role_name(person.role))},
            {"active", person.active},
            {"token_scope", std::string(model::token_scope_name(person.token_scope))},
            {"token_expires_at", person.token_expires_at
                                     ? nlohmann::json(format_time(*person.token_expires_at))
                                     : nlohmann::json()},
            {"token_issued_by", person.token_issued_by != 0 ? nlohmann::json(person.token_issued_by)
                                                            : nlohmann::json()},
            {"created_by",
             person.created_by != 0 ? nlohmann::json(person.created_by) : nlohmann::json()},
            {"confirmed_by",
             person.confirmed_by != 0 ? nlohmann::json(person.confirmed_by) : nlohmann::json()}};
}

nlohmann::json person_ref(const People& people, model::UserId id) {
    if (id == 0) {
        return nullptr;
    }
    auto it = people.find(id);
    if (it == people.end()) {
        return {{"id", id}};
    }
    return {{"id", id}, {"name", it->second.name}, {"email", it->second.email}};
}

nlohmann::json run_json(const model::Run& run, const People& people) {
    nlohmann::json j = {
        {"number", run.number},
        {"revision", run.revision},
        {"revision_hash", run.revision_hash},
        {"environment", run.environment},
        {"kind", std::string(model::run_kind_name(run.kind))},
        {"state", std::string(model::run_state_name(run.state))},
        {"started_by", person_ref(people, run.started_by)},
        {"started_at", format_time(run.started_at)},
        {"finished_at", run.finished_at ? nlohmann::json(format_time(*run.finished_at)) : nullptr},
        {"counts", run.counts},
        {"fingerprint", run.fingerprint},
        {"xid", run.xid ? nlohmann::json(*run.xid) : nullptr},
        {"backend_pid", run.backend_pid ? nlohmann::json(*run.backend_pid) : nullptr},
    };
    if (run.kind == model::RunKind::revert) {
        j["reverts_run"] = run.applies_run;
    }
    if (!run.failure.empty()) {
        j["failure"] = failure_code(run.failure);
    }
    return j;
}

nlohmann::json backup_job_json(const ledger::BackupJob& job, const People& people) {
    return {
        {"job", job.number},
        {"environment", job.environment},
        {"state", std::string(ledger::backup_job_state_name(job.state))},
        {"requested_by", person_ref(people, job.requested_by)},
        {"attempts", job.attempts},
        {"started_at", format_time(job.started_at)},
        {"finished_at",
         job.finished_at ? nlohmann::json(format_time(*job.finished_at)) : nlohmann::json(nullptr)},
        {"backup", job.backup == 0 ? nlohmann::json(nullptr) : nlohmann::json(job.backup)},
        // Not "error": that names a failed call's answer.
        {"failure", job.error_code.empty()
                        ? nlohmann::json(nullptr)
                        : nlohmann::json{{"code", job.error_code}, {"message", job.error}}},
    };
}

nlohmann::json approval_json(const model::Approval& approval, const People& people) {
    return {{"number", approval.number},
            {"kind", std::string(model::approval_kind_name(approval.kind))},
            {"environment", approval.environment},
            {"revision", approval.revision},
            {"revision_hash", approval.revision_hash},
            {"fingerprint", approval.fingerprint},
            {"approved_by", person_ref(people, approval.approved_by)},
            {"approved_at", format_time(approval.approved_at)},
            {"voided", approval.voided}};
}

nlohmann::json revision_json(const model::Revision& revision, const People& people) {
    nlohmann::json statements = nlohmann::json::array();
    for (const auto& s : revision.statements) {
        statements.push_back({{"normalized", s.normalized},
                              {"fingerprint", s.fingerprint},
                              {"hash", s.hash},
                              {"expected_rows", s.expected_rows}});
    }
    return {{"number", revision.number},
            {"hash", revision.hash},
            {"change_hash", revision.change_hash},
            {"statements", statements},
            {"all_rows", revision.all_rows},
            {"attached_by", person_ref(people, revision.attached_by)},
            {"attached_at", format_time(revision.attached_at)}};
}

nlohmann::json state_json(const model::RequestState& state, const People& people,
                          const workflow::WorkflowConfig& config, model::Time now,
                          model::UserId viewer) {
    const auto& r = state.request;
    const bool member = workflow::reading::is_member(state, viewer);
    nlohmann::json j = {
        {"number", r.number},
        {"title", r.title},
        {"reason", member ? nlohmann::json(r.reason) : nlohmann::json()},
        {"status", std::string(model::status_name(r.status))},
        {"requested_by", person_ref(people, r.requested_by)},
        {"requested_date", r.requested_date},
        {"ticket", r.ticket},
        {"created_by", person_ref(people, r.created_by)},
        {"created_at", format_time(r.created_at)},
        {"version", state.version},
        {"claim", nullptr},
        {"pair", nullptr},
        {"revision", nullptr},
    };
    if (state.claim) {
        j["claim"] = {{"driver", person_ref(people, state.claim->driver)},
                      {"claimed_at", format_time(state.claim->claimed_at)},
                      {"lease_expires_at", format_time(state.claim->lease_expires_at)},
                      {"active", state.claim->lease_expires_at > now}};
    }
    if (state.pair) {
        j["pair"] = {{"pair", person_ref(people, state.pair->pair)},
                     {"joined_at", format_time(state.pair->joined_at)}};
    }
    if (const auto* rev = state.current_revision()) {
        j["revision"] = revision_json(*rev, people);
    }
    j["revisions"] = state.revisions.size();
    if (!member) {
        j["reason_private"] =
            "the reason is for the request's people only (its product owner, whoever filed it, "
            "its drivers and pairs)";
    }

    workflow::Progress progress = workflow::summarize(state, config, now);
    nlohmann::json envs = nlohmann::json::array();
    for (const auto& e : progress.environments) {
        envs.push_back({{"name", e.name},
                        {"stage", std::string(workflow::stage_name(e.stage))},
                        {"preview_run", e.preview_run},
                        {"fingerprint", e.fingerprint},
                        {"apply_run", e.apply_run}});
        if (e.live_run != 0 && e.live_deadline) {
            // An open live transaction: the pages and the CLI count down to its deadline.
            auto left = std::chrono::duration_cast<std::chrono::seconds>(*e.live_deadline - now);
            envs.back()["live"] = {{"run", e.live_run},
                                   {"fingerprint", e.live_fingerprint},
                                   {"deadline", format_time(*e.live_deadline)},
                                   {"seconds_left", std::max<long long>(0, left.count())}};
        }
    }
    j["next"] = next_step_json(state, people, config, now);
    nlohmann::json held = nlohmann::json::array();
    for (const auto& h : workflow::held_changes(state, config)) {
        held.push_back(
            {{"environment", h.environment}, {"revision", h.revision}, {"apply_run", h.apply_run}});
    }
    j["progress"] = {{"revision", progress.revision},
                     {"revision_hash", progress.revision_hash},
                     {"lease_active", progress.lease_active},
                     {"product_owner_approved", progress.product_owner_approved},
                     {"environments", envs},
                     {"held", held}};

    nlohmann::json runs = nlohmann::json::array();
    for (const auto& run : state.runs) {
        runs.push_back(run_json(run, people));
    }
    j["runs"] = runs;
    nlohmann::json approvals = nlohmann::json::array();
    for (const auto& a : state.approvals) {
        approvals.push_back(approval_json(a, people));
    }
    j["approvals"] = approvals;
    nlohmann::json backups = nlohmann::json::array();
    for (const auto& b : state.backups) {
        backups.push_back({{"number", b.number},
                           {"environment", b.environment},
                           {"revision", b.revision},
                           {"verified", b.verified},
                           {"taken_at", format_time(b.taken_at)},
                           {"size_bytes", b.size_bytes},
                           {"sha256", b.sha256},
                           {"location", b.location},
                           {"recorded_by", person_ref(people, b.recorded_by)}});
    }
    j["backups"] = backups;
    // That changes were asked for is for everyone; what was asked, for the request's people
    // (the conversation route).
    j["member"] = member;
    j["comments"] = state.comments.size();
    j["changes_requested"] = nullptr;
    if (const model::Comment* asked = workflow::reading::pending_changes_request(state)) {
        j["changes_requested"] = {{"comment", asked->number},
                                  {"by", person_ref(people, asked->author)},
                                  {"at", format_time(asked->at)},
                                  {"revision", asked->revision}};
    }
    return j;
}

nlohmann::json comment_json(const model::Comment& comment, const People& people) {
    return {{"number", comment.number},
            {"kind", std::string(model::comment_kind_name(comment.kind))},
            {"text", comment.text},
            {"author", person_ref(people, comment.author)},
            {"at", format_time(comment.at)},
            {"revision", comment.revision}};
}

nlohmann::json summary_json(const ledger::RequestSummary& summary, const People& people,
                            model::Time now) {
    const auto& r = summary.request;
    nlohmann::json j = {
        {"number", r.number},
        {"title", r.title},
        {"status", std::string(model::status_name(r.status))},
        {"requested_by", person_ref(people, r.requested_by)},
        {"requested_date", r.requested_date},
        {"ticket", r.ticket},
        {"revision", summary.revision},
        {"revision_hash", summary.revision_hash},
        {"version", summary.version},
        {"driver", nullptr},
        {"pair", nullptr},
    };
    if (summary.claim && summary.claim->lease_expires_at > now) {
        j["driver"] = person_ref(people, summary.claim->driver);
    }
    if (summary.pair) {
        j["pair"] = person_ref(people, summary.pair->pair);
    }
    return j;
}

nlohmann::json audit_json(const model::AuditEntry& entry, const People& people) {
    const auto& e = entry.event;
    return {{"seq", entry.seq},
            {"at", format_time(e.at)},
            {"actor", e.actor == 0 ? nlohmann::json("system") : person_ref(people, e.actor)},
            {"action", e.action},
            {"request", e.request ? nlohmann::json(*e.request) : nullptr},
            {"environment", e.environment},
            {"statement_hash", e.statement_hash},
            {"evidence_fingerprint", e.evidence_fingerprint},
            {"detail", e.detail},
            {"hash", entry.hash}};
}

nlohmann::json next_step_json(const model::RequestState& state, const People& people,
                              const workflow::WorkflowConfig& config, model::Time now) {
    workflow::NextStep next = workflow::next_step(state, config, now);
    return {{"step", next.step},
            {"what", next.what},
            {"environment", next.environment},
            {"owner", std::string(workflow::owner_name(next.owner))},
            {"person", person_ref(people, next.person)}};
}

nlohmann::json inbox_item_json(const model::RequestState& state, const People& people,
                               const workflow::WorkflowConfig& config, model::Time now) {
    const auto& r = state.request;
    const model::Revision* revision = state.current_revision();
    return {{"number", r.number},
            {"title", r.title},
            {"status", std::string(model::status_name(r.status))},
            {"requested_by", person_ref(people, r.requested_by)},
            {"requested_date", r.requested_date},
            {"driver", state.claim && workflow::reading::lease_active(state, now)
                           ? person_ref(people, state.claim->driver)
                           : nlohmann::json()},
            {"pair", state.pair ? person_ref(people, state.pair->pair) : nlohmann::json()},
            {"revision", revision != nullptr ? revision->number : 0},
            {"next", next_step_json(state, people, config, now)}};
}

nlohmann::json consequences_json(const model::RequestState& before,
                                 const model::RequestState& after, const People& people,
                                 const workflow::WorkflowConfig& config) {
    nlohmann::json voided = nlohmann::json::array();
    for (const auto& approval : workflow::consequences(before, config).voided) {
        for (const auto& now : after.approvals) {
            if (now.number == approval.number && now.voided) {
                voided.push_back(approval_json(now, people));
            }
        }
    }
    nlohmann::json held = nlohmann::json::array();
    for (const auto& h : workflow::held_changes(after, config)) {
        held.push_back(
            {{"environment", h.environment}, {"revision", h.revision}, {"apply_run", h.apply_run}});
    }
    return {{"voided", voided}, {"held", held}};
}

}  // namespace datafix::server
