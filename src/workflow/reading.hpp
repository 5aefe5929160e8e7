// Questions about a request's state that several rules (and the progress view) ask: who drives,
// what is applied where, which evidence is the latest. One reading, so the rules and what people
// see never disagree.
#pragma once

#include <string_view>

#include "ledger/person.hpp"
#include "ledger/request_state.hpp"
#include "ledger/time.hpp"

namespace datafix::workflow::reading {

bool lease_active(const ledger::RequestState& state, ledger::Time now);
bool is_driver(const ledger::RequestState& state, ledger::UserId id);
bool is_pair(const ledger::RequestState& state, ledger::UserId id);
// The request's people, who may read its private parts (the reason, row images, pre-flight):
// the product owner who requested it, whoever filed it, its driver and pair now, and everyone
// who ever drove it or approved on it. Not admins as such: managing people is not reading data.
bool is_member(const ledger::RequestState& state, ledger::UserId id);

const ledger::Run* find_run(const ledger::RequestState& state, int number);
const ledger::Run* running_run(const ledger::RequestState& state);
// The pair approved exactly the evidence `run` (a live run) recorded, after it started.
bool live_approved(const ledger::RequestState& state, const ledger::Run& run);
// The live run whose transaction is open in `environment` (running), or nullptr.
const ledger::Run* open_live_run(const ledger::RequestState& state, std::string_view environment);
const ledger::Run* in_doubt_run(const ledger::RequestState& state, std::string_view environment);
const ledger::Run* any_in_doubt_run(const ledger::RequestState& state);

// The latest succeeded preview of `revision` in `environment`: the evidence to approve.
const ledger::Run* latest_evidence(const ledger::RequestState& state, std::string_view environment,
                                   int revision);
// The succeeded apply of `revision` in `environment`.
const ledger::Run* applied_run(const ledger::RequestState& state, std::string_view environment,
                               int revision);
// The latest succeeded apply in `environment` (any revision) that no succeeded revert undid.
const ledger::Run* revertable_apply(const ledger::RequestState& state,
                                    std::string_view environment);
bool reverted(const ledger::RequestState& state, const ledger::Run& apply);

const ledger::Approval* valid_approval(const ledger::RequestState& state, ledger::ApprovalKind kind,
                                       std::string_view environment, int revision,
                                       std::string_view fingerprint);
bool product_owner_approved(const ledger::RequestState& state, int revision);

// The request for changes the driver has not answered yet: on the current revision, with no
// preview started after it. Nothing when the request is with its reviewers.
const ledger::Comment* pending_changes_request(const ledger::RequestState& state);

}  // namespace datafix::workflow::reading
