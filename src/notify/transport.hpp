// Delivery of one stored notification to its peer, over libcurl: SMTP for email channels, an
// HTTP POST of JSON for webhooks. A failure is a value (the dispatcher retries), never thrown.
#pragma once

#include <memory>
#include <string>

#include "notify/channels.hpp"
#include "notify/message.hpp"

namespace datafix::notify {

struct DeliveryResult {
    bool delivered = false;
    std::string error;  // curl's or the peer's words, for last_error
};

class Transport {
  public:
    virtual ~Transport() = default;
    virtual DeliveryResult deliver(const Message& message, const std::string& recipient) = 0;

  protected:
    Transport() = default;
};

std::unique_ptr<Transport> make_transport(const ChannelConfig& channel);

// The JSON body posted to a webhook of `kind` (slack, rocketchat, teams).
std::string webhook_body(ChannelKind kind, const Message& message);
// The RFC 5322 message sent over SMTP (headers and body, CRLF line ends).
std::string email_text(const Message& message, const std::string& from,
                       const std::string& recipient, model::Time date);

}  // namespace datafix::notify
