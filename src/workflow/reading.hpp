// Questions about a request's state that several rules (and the progress view) ask: who drives,
// what is applied where, which evidence is the latest. One reading, so the rules and what people
// see never disagree.
#pragma once

#include <string_view>

#include "model/person.hpp"
#include "model/request_state.hpp"
#include "model/time.hpp"

namespace datafix::workflow::reading {

bool lease_active(const model::RequestState& state, model::Time now);
bool is_driver(const model::RequestState& state, model::UserId id);
bool is_pair(const model::RequestState& state, model::UserId id);
// The request's people, who may read its private parts (the reason, row images, pre-flight):
// the product owner who requested it, whoever filed it, its driver and pair now, and everyone
// who ever drove it or approved on it. Not admins as such: managing people is not reading data.
bool is_member(const model::RequestState& state, model::UserId id);

const model::Run* find_run(const model::RequestState& state, int number);
const model::Run* running_run(const model::RequestState& state);
// The pair approved exactly the evidence `run` (a live run) recorded, after it started.
bool live_approved(const model::RequestState& state, const model::Run& run);
// The live run whose transaction is open in `environment` (running), or nullptr.
const model::Run* open_live_run(const model::RequestState& state, std::string_view environment);
const model::Run* in_doubt_run(const model::RequestState& state, std::string_view environment);
const model::Run* any_in_doubt_run(const model::RequestState& state);

// The latest succeeded preview of `revision` in `environment`: the evidence to approve.
const model::Run* latest_evidence(const model::RequestState& state, std::string_view environment,
                                  int revision);
// The succeeded apply of `revision` in `environment`.
const model::Run* applied_run(const model::RequestState& state, std::string_view environment,
                              int revision);
// The latest succeeded apply in `environment` (any revision) that no succeeded revert undid.
const model::Run* revertable_apply(const model::RequestState& state, std::string_view environment);
bool reverted(const model::RequestState& state, const model::Run& apply);

const model::Approval* valid_approval(const model::RequestState& state, model::ApprovalKind kind,
                                      std::string_view environment, int revision,
                                      std::string_view fingerprint);
bool product_owner_approved(const model::RequestState& state, int revision);

// The request for changes the driver has not answered yet: on the current revision, with no
// preview started after it. Nothing when the request is with its reviewers.
const model::Comment* pending_changes_request(const model::RequestState& state);

}  // namespace datafix::workflow::reading
