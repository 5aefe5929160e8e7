// Four eyes for accounts. Whoever issued a person's token (an admin who rotated it for them) may
// be the one using it; so may the admin who created an account and saw its first token, until a
// second admin confirms the account ([auth] confirm_accounts). Steps taken by such a person
// count for that admin too. A session the OpenID Connect provider vouched for is the person's
// own: it counts for nobody else.
#pragma once

#include <optional>
#include <vector>

#include "model/person.hpp"
#include "workflow/config.hpp"
#include "workflow/decision.hpp"

namespace datafix::workflow {

// The admin who created `person`'s account and whom no second admin has confirmed as someone
// else, or 0.
model::UserId unconfirmed_creator(const model::Person& person, const WorkflowConfig& config);

// Everyone a step taken by `person` counts for: the person, the issuer of their token, the
// unconfirmed creator of their account.
std::vector<model::UserId> four_eyes_identities(const model::Person& person,
                                                const WorkflowConfig& config);

// May `admin` confirm `account`, which `creator` created? Refused when confirmation is off,
// the account has no creator or is confirmed already, it is the admin's own, or the admin counts
// for the creator (is the creator, holds a token the creator issued, or has an account the
// creator created and nobody confirmed). `admin` must be an admin: the caller checks the role.
std::optional<Refusal> check_account_confirmation(const model::Person& admin,
                                                  const model::Person& account,
                                                  const model::Person& creator,
                                                  const WorkflowConfig& config);

}  // namespace datafix::workflow
