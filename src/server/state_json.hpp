// The JSON views of requests, people and audit entries that leave the server. They carry names,
// states, counts, hashes and normalized statements — never statement text, images, verify results
// or database messages (which may quote values); those stay behind the images view.
#pragma once

#include <map>
#include <nlohmann/json_fwd.hpp>

#include "ledger/audit.hpp"
#include "ledger/ledger.hpp"
#include "ledger/person.hpp"
#include "ledger/request_state.hpp"
#include "workflow/config.hpp"

namespace datafix::server {

using People = std::map<ledger::UserId, ledger::Person>;

std::string format_time(ledger::Time t);
nlohmann::json person_json(const ledger::Person& person);
nlohmann::json person_ref(const People& people, ledger::UserId id);

nlohmann::json run_json(const ledger::Run& run, const People& people);
// A backup job (server/backups.hpp): state, attempts, times, the recorded backup or the error.
nlohmann::json backup_job_json(const ledger::BackupJob& job, const People& people);
nlohmann::json approval_json(const ledger::Approval& approval, const People& people);
nlohmann::json revision_json(const ledger::Revision& revision, const People& people);
// `viewer`: the person asking; the request's reason is shown to its people only
// (workflow::reading::is_member), others get "reason_private" instead.
nlohmann::json state_json(const ledger::RequestState& state, const People& people,
                          const workflow::WorkflowConfig& config, ledger::Time now,
                          ledger::UserId viewer);
nlohmann::json summary_json(const ledger::RequestSummary& summary, const People& people,
                            ledger::Time now);
// One entry of the conversation, its text included: for the request's people only.
nlohmann::json comment_json(const ledger::Comment& comment, const People& people);
nlohmann::json audit_json(const ledger::AuditEntry& entry, const People& people);

// The request's next step (workflow::next_step) with its owner named.
nlohmann::json next_step_json(const ledger::RequestState& state, const People& people,
                              const workflow::WorkflowConfig& config, ledger::Time now);
// One request of the inbox: what the list shows, and its next step.
nlohmann::json inbox_item_json(const ledger::RequestState& state, const People& people,
                               const workflow::WorkflowConfig& config, ledger::Time now);
// What a new revision or a cancel voided (the approvals of `before` that `after` holds voided)
// and which environments still hold a change of the request after it.
nlohmann::json consequences_json(const ledger::RequestState& before,
                                 const ledger::RequestState& after, const People& people,
                                 const workflow::WorkflowConfig& config);

}  // namespace datafix::server
