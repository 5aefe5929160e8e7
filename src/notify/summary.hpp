// What a notification may say about a change. No field of ChangeSummary can carry a literal value
// from a statement, an image or a verify result: statements are NormalizedStatement (checked to be
// in the SQL guard's normalized form, literals as $n), hashes are Digest (hex only), counts are
// numbers, the link is built from the configured base URL and the request number. The title,
// people's names and the environment are the request's metadata, not data from the database.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/person.hpp"
#include "model/request_state.hpp"
#include "model/time.hpp"
#include "notify/event.hpp"

namespace datafix::notify {

// A statement in the SQL guard's normalized form. Construction re-runs the guard's normalizer:
// text that is not already normalized (it still holds a literal) is withheld, not shown.
class NormalizedStatement {
  public:
    static NormalizedStatement from(std::string_view normalized);
    const std::string& text() const { return text_; }
    bool withheld() const { return withheld_; }

  private:
    std::string text_;
    bool withheld_ = false;
};

// A lowercase hex digest (SHA-256, a fingerprint); anything else becomes empty.
class Digest {
  public:
    Digest() = default;
    static Digest from(std::string_view hex);
    const std::string& hex() const { return hex_; }
    // The first 12 digits, for subjects and chat lines.
    std::string short_form() const { return hex_.substr(0, 12); }

  private:
    std::string hex_;
};

// A person as a notification names them: name and address, nothing else.
struct Contact {
    std::string name;
    std::string email;
};

struct ChangeSummary {
    EventKind event = EventKind::request_created;
    model::RequestNumber request = 0;
    std::string title;
    std::string environment;  // empty for events not tied to one
    std::vector<NormalizedStatement> statements;
    std::vector<std::int64_t> counts;  // actual rows per statement (runs)
    Digest revision_hash;
    Digest fingerprint;
    std::optional<Contact> product_owner;
    std::optional<Contact> driver;
    std::optional<Contact> pair;
    // Environments whose data still holds a change of the request (names, from the workflow).
    std::vector<std::string> changed_environments;
    // The revision the environment holds when that differs from the current one (a revert to
    // approve); 0 otherwise.
    int held_revision = 0;
    int revision = 0;  // the current revision's number
    // Who took the step (commented, asked for changes); never what they wrote.
    std::optional<Contact> actor;
    model::Time at{};
};

using PersonLookup = std::function<std::optional<model::Person>(model::UserId)>;

// The summary of `state` for `event` in `environment`: the current revision's statements and
// hash, and the counts and fingerprint of the latest run in that environment.
ChangeSummary summarize(const model::RequestState& state, EventKind event,
                        const std::string& environment, const PersonLookup& people, model::Time at);

}  // namespace datafix::notify
