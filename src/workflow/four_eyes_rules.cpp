// Four eyes by person and by history. The three sides of a request — who drove it (claimed it,
// was handed it, wrote a revision, previewed, applied, reverted, took a backup), who approved
// as its pair (evidence, an emergency revert) and who approved production as its product owner
// — never share a person, over the request's whole life: a driver who released the claim and
// joined as the pair still drove it. A step taken with a token an admin issued for someone else,
// or by an account an admin created that no second admin confirmed, counts for that admin too
// (accounts.hpp), so an admin who rotates people's tokens or creates accounts cannot fill two
// sides. decide() checks an allowed step here and records its people in the state's
// Participants.
#include <algorithm>

#include "workflow/reading.hpp"
#include "workflow/rules.hpp"

namespace datafix::workflow::rules {

namespace {

enum class Side { none, driver, pair, product_owner };

Side side_of(const Action& action) {
    if (std::holds_alternative<ClaimRequest>(action) || std::holds_alternative<HandOver>(action) ||
        std::holds_alternative<AttachRevision>(action) ||
        std::holds_alternative<StartPreview>(action) ||
        std::holds_alternative<StartApply>(action) || std::holds_alternative<StartRevert>(action) ||
        std::holds_alternative<RecordBackup>(action) || std::holds_alternative<StartLive>(action)) {
        return Side::driver;
    }
    if (std::holds_alternative<ApproveEvidence>(action) ||
        std::holds_alternative<ApproveLive>(action) ||
        std::holds_alternative<ApproveEmergencyRevert>(action)) {
        return Side::pair;
    }
    if (std::holds_alternative<ApproveProduction>(action)) {
        return Side::product_owner;
    }
    return Side::none;
}

std::vector<model::UserId>& people_of(model::Participants& p, Side side) {
    switch (side) {
        case Side::pair:
            return p.paired;
        case Side::product_owner:
            return p.product_owners;
        default:
            return p.drove;
    }
}

const char* side_words(Side side) {
    switch (side) {
        case Side::driver:
            return "drove it (claimed it, wrote, previewed or applied its change)";
        case Side::pair:
            return "approved on it as its pair";
        case Side::product_owner:
            return "approved its production step as product owner";
        case Side::none:
            break;
    }
    return "";
}

const char* step_words(Side side) {
    switch (side) {
        case Side::driver:
            return "drive it";
        case Side::pair:
            return "approve its evidence";
        case Side::product_owner:
            return "approve its production step";
        case Side::none:
            break;
    }
    return "";
}

bool contains(const std::vector<model::UserId>& people, model::UserId id) {
    return std::find(people.begin(), people.end(), id) != people.end();
}

void add(std::vector<model::UserId>& people, model::UserId id) {
    if (id != 0 && !contains(people, id)) {
        people.insert(std::upper_bound(people.begin(), people.end(), id), id);
    }
}

}  // namespace

std::optional<Refusal> check_four_eyes(const model::RequestState& state, const Action& action,
                                       const Actor& actor, const WorkflowConfig& config) {
    const Side side = side_of(action);
    if (side == Side::none) {
        return std::nullopt;
    }
    // A hand-over puts the receiving developer on the driver's side.
    const model::Person& who =
        std::holds_alternative<HandOver>(action) ? std::get<HandOver>(action).to : actor;
    const std::string number = std::to_string(state.request.number);
    model::Participants participants = state.participants;
    for (Side other : {Side::driver, Side::pair, Side::product_owner}) {
        if (other == side) {
            continue;
        }
        const std::vector<model::UserId>& there = people_of(participants, other);
        const bool handed = &who != &actor;
        if (contains(there, who.id)) {
            return refusal("four-eyes-history",
                           std::string(handed ? "that person " : "you ") + side_words(other) +
                               " on request " + number + ", so " + (handed ? "they" : "you") +
                               " cannot " + step_words(side) + " as well",
                           "four eyes are two people: someone who never " +
                               std::string(side_words(other)) + " does this step (for request " +
                               number + ")");
        }
        if (who.token_issued_by != 0 && contains(there, who.token_issued_by)) {
            return refusal(
                "four-eyes-token-issuer",
                std::string(handed ? "that person's" : "your") + " token was issued by admin " +
                    std::to_string(who.token_issued_by) + ", who " + side_words(other) +
                    " on request " + number + " through a token they issued",
                "steps taken with a token an admin issued count for that admin too: ask "
                "another admin to rotate the token (datafix users rotate-token EMAIL), or let "
                "another person do this step");
        }
        const model::UserId creator = unconfirmed_creator(who, config);
        if (creator != 0 && contains(there, creator)) {
            return refusal(
                "four-eyes-account-creator",
                std::string(handed ? "that person's" : "your") + " account was created by admin " +
                    std::to_string(creator) + ", who " + side_words(other) + " on request " +
                    number + ", and no second admin has confirmed it",
                "until another admin confirms the account (datafix users confirm " +
                    std::to_string(who.id) +
                    "), its steps count for the admin who created it; or sign in through the "
                    "provider (datafix login), or let another person do this step");
        }
    }
    return std::nullopt;
}

void record_participants(model::RequestState& next, const Action& action, const Actor& actor,
                         const WorkflowConfig& config) {
    const Side side = side_of(action);
    if (side == Side::none) {
        return;
    }
    const model::Person& who =
        std::holds_alternative<HandOver>(action) ? std::get<HandOver>(action).to : actor;
    for (model::UserId id : four_eyes_identities(who, config)) {
        add(people_of(next.participants, side), id);
    }
}

}  // namespace datafix::workflow::rules

namespace datafix::workflow {

model::UserId unconfirmed_creator(const model::Person& person, const WorkflowConfig& config) {
    if (!config.confirm_accounts || person.signed_in_with_provider || person.created_by == 0 ||
        person.created_by == person.id || person.confirmed_by != 0) {
        return 0;
    }
    return person.created_by;
}

std::vector<model::UserId> four_eyes_identities(const model::Person& person,
                                                const WorkflowConfig& config) {
    std::vector<model::UserId> ids{person.id};
    // A provider's session is the person's own sign-in, issued by nobody else.
    if (person.token_issued_by != 0 && person.token_issued_by != person.id &&
        !person.signed_in_with_provider) {
        ids.push_back(person.token_issued_by);
    }
    const model::UserId creator = unconfirmed_creator(person, config);
    if (creator != 0 && std::find(ids.begin(), ids.end(), creator) == ids.end()) {
        ids.push_back(creator);
    }
    return ids;
}

std::optional<Refusal> check_account_confirmation(const model::Person& admin,
                                                  const model::Person& account,
                                                  const model::Person& creator,
                                                  const WorkflowConfig& config) {
    const std::string user = "user " + std::to_string(account.id);
    if (!config.confirm_accounts) {
        return rules::refusal("accounts-not-confirmed",
                              "this server does not confirm accounts: an account counts as its "
                              "own person from the start",
                              "set confirm_accounts = true in [auth] of datafix.toml");
    }
    if (account.created_by == 0) {
        return rules::refusal("account-not-created-by-admin",
                              user +
                                  " was not created by an admin (datafix init or a sign-in "
                                  "through the provider made it): there is nothing to confirm",
                              "see datafix users list");
    }
    if (account.confirmed_by != 0) {
        return rules::refusal(
            "account-confirmed-already",
            user + " was confirmed by admin " + std::to_string(account.confirmed_by) + " already",
            "see datafix users list");
    }
    if (admin.id == account.id) {
        return rules::refusal("account-confirm-own", "you cannot confirm your own account",
                              "ask an admin who did not create it");
    }
    const std::vector<model::UserId> mine = four_eyes_identities(admin, config);
    for (model::UserId id : four_eyes_identities(creator, config)) {
        if (std::find(mine.begin(), mine.end(), id) != mine.end()) {
            return rules::refusal(
                "account-confirm-by-creator",
                admin.id == creator.id
                    ? "you created " + user + ", so you cannot also confirm it"
                    : "your steps count for admin " + std::to_string(id) + ", who created " + user +
                          " or whose account created it, so you cannot confirm it",
                "an admin who did not create it, and whose own account the same admin did not "
                "create, confirms it; signed in through the provider (datafix login) an admin "
                "counts only as themselves (datafix users confirm " +
                    std::to_string(account.id) + ")");
        }
    }
    return std::nullopt;
}

}  // namespace datafix::workflow
