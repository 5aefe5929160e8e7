// A rendered notification: subject, plain text and the request's link. Rendered once, when the
// event happens, and stored in the outbox as JSON (the payload column), so what is delivered is
// exactly what was decided at that moment. Each channel formats it for its peer.
#pragma once

#include <string>

#include "notify/summary.hpp"

namespace datafix::notify {

struct Message {
    std::string subject;
    std::string text;
    std::string link;
    // Names one outbox row, the same at every attempt (not part of the stored payload): the
    // mail's Message-ID and the webhook's Idempotency-Key, so a peer that already has it after a
    // crash between delivery and mark_delivered can tell the second copy for what it is.
    std::string delivery_key;
};

// `base_url` is the server's public URL, e.g. "https://datafix.example.com"; the link is
// <base_url>/requests/<number>.
Message render(const ChangeSummary& summary, const std::string& base_url);

// Adds the audit head ("SEQ:MAC", see ledger/audit.hpp) as the text's last line, so every
// delivered message publishes the head outside the ledger. Nothing for an empty head.
void append_audit_footer(Message& message, const std::string& audit_head);

std::string message_to_payload(const Message& message);
// Throws Error(invalid_input) for a payload that is not a stored message.
Message message_from_payload(const std::string& payload);

}  // namespace datafix::notify
