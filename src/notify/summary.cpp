// Building a summary from a request's state, and the two types that keep literals out of it.
#include "notify/summary.hpp"

#include <ranges>

#include "core/error.hpp"
#include "sql/analysis.hpp"

namespace datafix::notify {

namespace {

constexpr std::string_view kWithheld = "(statement withheld: not in normalized form)";

std::string trimmed(std::string_view text) {
    auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) {
        return {};
    }
    auto last = text.find_last_not_of(" \t\r\n;");
    return std::string(text.substr(first, last - first + 1));
}

std::optional<Contact> contact_of(const PersonLookup& people, model::UserId id) {
    if (!people || id == 0) {
        return std::nullopt;
    }
    auto person = people(id);
    if (!person) {
        return std::nullopt;
    }
    return Contact{person->name, person->email};
}

}  // namespace

NormalizedStatement NormalizedStatement::from(std::string_view normalized) {
    NormalizedStatement s;
    const std::string text = trimmed(normalized);
    // Normalizing normalized text changes nothing; text that still holds a literal changes (the
    // literal becomes $n), and is then withheld rather than sent.
    try {
        sql::Analysis again = sql::analyze(text, sql::FileRole::change, "notification");
        if (again.statements.size() == 1 && again.statements.front().normalized == text) {
            s.text_ = text;
            return s;
        }
    } catch (const Error&) {
        // Not parseable: withheld below.
    }
    s.text_ = std::string(kWithheld);
    s.withheld_ = true;
    return s;
}

Digest Digest::from(std::string_view hex) {
    Digest d;
    if (hex.empty() || hex.size() > 128) {
        return d;
    }
    for (char c : hex) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return d;
        }
    }
    d.hex_ = std::string(hex);
    return d;
}

ChangeSummary summarize(const model::RequestState& state, EventKind event,
                        const std::string& environment, const PersonLookup& people,
                        model::Time at) {
    ChangeSummary s;
    s.event = event;
    s.request = state.request.number;
    s.title = state.request.title;
    s.environment = environment;
    s.at = at;
    if (const model::Revision* revision = state.current_revision()) {
        s.revision_hash = Digest::from(revision->hash);
        s.revision = revision->number;
        for (const auto& statement : revision->statements) {
            s.statements.push_back(NormalizedStatement::from(statement.normalized));
        }
    }
    if (!environment.empty()) {
        for (const auto& run : std::ranges::reverse_view(state.runs)) {
            if (run.environment == environment) {
                s.counts = run.counts;
                s.fingerprint = Digest::from(run.fingerprint);
                break;
            }
        }
    }
    s.product_owner = contact_of(people, state.request.requested_by);
    if (state.claim) {
        s.driver = contact_of(people, state.claim->driver);
    }
    if (state.pair) {
        s.pair = contact_of(people, state.pair->pair);
    }
    return s;
}

}  // namespace datafix::notify
