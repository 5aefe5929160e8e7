// The JSON views of requests, people and audit entries that leave the server. They carry names,
// states, counts, hashes and normalized statements — never statement text, images, verify results
// or database messages (which may quote values); those stay behind the images view.
#pragma once

#include <map>
#include <nlohmann/json_fwd.hpp>

#include "ledger/ledger.hpp"
#include "model/audit.hpp"
#include "model/person.hpp"
#include "model/request_state.hpp"
#include "workflow/config.hpp"

namespace datafix::server {

using People = std::map<model::UserId, model::Person>;

std::string format_time(model::Time t);
nlohmann::json person_json(const model::Person& person);
nlohmann::json person_ref(const People& people, model::UserId id);

nlohmann::json run_json(const model::Run& run, const People& people);
// A backup job (run/backups.hpp): state, attempts, times, the recorded backup or the error.
nlohmann::json backup_job_json(const ledger::BackupJob& job, const People& people);
nlohmann::json approval_json(const model::Approval& approval, const People& people);
nlohmann::json revision_json(const model::Revision& revision, const People& people);
// `viewer`: the person asking; the request's reason is shown to its people only
// (workflow::reading::is_member), others get "reason_private" instead.
nlohmann::json state_json(const model::RequestState& state, const People& people,
                          const workflow::WorkflowConfig& config, model::Time now,
                          model::UserId viewer);
nlohmann::json summary_json(const ledger::RequestSummary& summary, const People& people,
                            model::Time now);
// One entry of the conversation, its text included: for the request's people only.
nlohmann::json comment_json(const model::Comment& comment, const People& people);
nlohmann::json audit_json(const model::AuditEntry& entry, const People& people);

// The request's next step (workflow::next_step) with its owner named.
nlohmann::json next_step_json(const model::RequestState& state, const People& people,
                              const workflow::WorkflowConfig& config, model::Time now);
// One request of the inbox: what the list shows, and its next step.
nlohmann::json inbox_item_json(const model::RequestState& state, const People& people,
                               const workflow::WorkflowConfig& config, model::Time now);
// What a new revision or a cancel voided (the approvals of `before` that `after` holds voided)
// and which environments still hold a change of the request after it.
nlohmann::json consequences_json(const model::RequestState& before,
                                 const model::RequestState& after, const People& people,
                                 const workflow::WorkflowConfig& config);

}  // namespace datafix::server
