// Rendering a summary into subject and text. Everything here comes from ChangeSummary, whose
// fields cannot carry a literal; free text (the title, names) loses control characters so it
// cannot add a mail header or a chat markup line.
#include "notify/message.hpp"

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace datafix::notify {

namespace {

std::string one_line(const std::string& text) {
    std::string out;
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u == 0x7f) ? ' ' : c;
    }
    return out;
}

std::string person(const std::optional<Contact>& c) {
    return c ? one_line(c->name) : std::string("nobody yet");
}

std::string environments(const std::vector<std::string>& names) {
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i) {
        out += (i == 0 ? "" : (i + 1 == names.size() ? " and " : ", ")) + one_line(names[i]);
    }
    return out;
}

std::string headline(const ChangeSummary& s) {
    const std::string env = one_line(s.environment);
    switch (s.event) {
        case EventKind::request_created:
            return "needs a driver";
        case EventKind::claimed:
            return "claimed by " + person(s.driver);
        case EventKind::pair_wanted:
            return "wants a pair";
        case EventKind::test_applied:
            return "applied in " + env + ", please verify";
        case EventKind::prod_applied:
            return "applied in " + env;
        case EventKind::failed:
            return "failed in " + env;
        case EventKind::in_doubt:
            return "in doubt in " + env;
        case EventKind::test_reverted:
            return "reverted in " + env;
        case EventKind::evidence_to_approve:
            return "evidence in " + env + " waits for the pair";
        case EventKind::revert_to_approve:
            return "revert of " + env + " waits for the pair";
        case EventKind::cancelled:
            return "cancelled";
        case EventKind::commented:
            return person(s.actor) + " commented";
        case EventKind::changes_requested:
            return "changes requested by " + person(s.actor);
        case EventKind::token_rotated:
        case EventKind::account_created:
            break;
    }
    return "updated";
}

std::string what_to_do(const ChangeSummary& s) {
    switch (s.event) {
        case EventKind::request_created:
            return "A developer is needed to drive this change.";
        case EventKind::claimed:
            return person(s.driver) + " drives this change" +
                   (s.pair ? ", paired with " + person(s.pair) : std::string()) + ".";
        case EventKind::pair_wanted:
            return person(s.driver) + " is looking for a second developer to pair on this change.";
        case EventKind::test_applied:
            return "The change is committed in " + one_line(s.environment) +
                   ". Please verify it there, then approve production on the request's page.";
        case EventKind::prod_applied:
            return "The change is committed in " + one_line(s.environment) + ".";
        case EventKind::failed:
            return "The run failed and was rolled back; nothing changed.";
        case EventKind::in_doubt:
            return "COMMIT was sent but its outcome is not known yet; datafix is resolving it. "
                   "Do not run the change again.";
        case EventKind::test_reverted:
            return "The change was reverted in " + one_line(s.environment) + ".";
        case EventKind::evidence_to_approve:
            return person(s.pair) + ", the evidence of the preview in " + one_line(s.environment) +
                   " waits for your approval. Check the counts and the before and after rows, "
                   "then approve it on the request's page (or datafix approve " +
                   std::to_string(s.request) + " " + one_line(s.environment) + ").";
        case EventKind::revert_to_approve:
            return person(s.pair) + ", the data in " + one_line(s.environment) +
                   " still holds revision " + std::to_string(s.held_revision) + ". Revision " +
                   std::to_string(s.revision) +
                   " starts again once it is put back: approve the revert (datafix "
                   "approve-revert " +
                   std::to_string(s.request) + " " + one_line(s.environment) +
                   "), then the driver reverts.";
        case EventKind::cancelled:
            return "The request was cancelled; nothing more will be applied." +
                   std::string(s.changed_environments.empty()
                                   ? " No environment holds its change."
                                   : " The data in " + environments(s.changed_environments) +
                                         " still holds its change, until the driver reverts it.");
        case EventKind::commented:
            return person(s.actor) + " commented on this request. Read it on the request's page.";
        case EventKind::changes_requested:
            return person(s.actor) + " asked for changes: the request is back with " +
                   person(s.driver) +
                   ", and approvals still waiting are withdrawn. The reason is on the request's "
                   "page.";
        case EventKind::token_rotated:
        case EventKind::account_created:
            break;
    }
    return {};
}

}  // namespace

Message render(const ChangeSummary& s, const std::string& base_url) {
    Message m;
    std::string base = base_url;
    while (!base.empty() && base.back() == '/') {
        base.pop_back();
    }
    m.link = base + "/requests/" + std::to_string(s.request);
    const std::string title = one_line(s.title);
    m.subject = "[datafix] #" + std::to_string(s.request) + " " + headline(s) + ": " + title;

    std::string t;
    t += what_to_do(s) + "\n\n";
    t += "Request:       #" + std::to_string(s.request) + " " + title + "\n";
    if (!s.environment.empty()) {
        t += "Environment:   " + one_line(s.environment) + "\n";
    }
    if (s.product_owner) {
        t += "Product owner: " + person(s.product_owner) + "\n";
    }
    t += "Driver:        " + person(s.driver) + "\n";
    t += "Pair:          " + person(s.pair) + "\n";
    if (!s.revision_hash.hex().empty()) {
        t += "Revision:      " + s.revision_hash.hex() + "\n";
    }
    if (!s.fingerprint.hex().empty()) {
        t += "Evidence:      " + s.fingerprint.hex() + "\n";
    }
    if (!s.statements.empty()) {
        t += "\nStatements (normalized: values appear as $n):\n";
        for (std::size_t i = 0; i < s.statements.size(); ++i) {
            t += "  " + std::to_string(i + 1) + ". " + s.statements[i].text();
            if (i < s.counts.size()) {
                t += "\n     rows: " + std::to_string(s.counts[i]);
            }
            t += "\n";
        }
    }
    t += "\n" + m.link + "\n";
    m.text = t;
    return m;
}

std::string message_to_payload(const Message& message) {
    return nlohmann::json{
        {"subject", message.subject}, {"text", message.text}, {"link", message.link}}
        .dump();
}

Message message_from_payload(const std::string& payload) {
    try {
        auto j = nlohmann::json::parse(payload);
        return Message{j.at("subject").get<std::string>(), j.at("text").get<std::string>(),
                       j.at("link").get<std::string>()};
    } catch (const nlohmann::json::exception& e) {
        throw Error(ErrorCode::invalid_input,
                    std::string("stored notification is not a message: ") + e.what(),
                    "the outbox row was written by another program; delete it");
    }
}

void append_audit_footer(Message& message, const std::string& audit_head) {
    if (audit_head.empty()) {
        return;
    }
    message.text +=
        "\n--\naudit head " + audit_head + " (datafix audit verify --head " + audit_head + ")\n";
}

}  // namespace datafix::notify
