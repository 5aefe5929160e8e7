// libcurl transports: SMTP (STARTTLS and authentication as configured) and webhook POSTs. Every
// curl error becomes a DeliveryResult with curl's own words; nothing here throws for a peer that
// is down, so the dispatcher can retry.
#include "notify/transport.hpp"

#include <curl/curl.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>

#include "core/hash.hpp"

namespace datafix::notify {

namespace {

void global_init() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

using CurlHandle = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using CurlList = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

CurlHandle new_handle() {
    global_init();
    return CurlHandle(curl_easy_init(), &curl_easy_cleanup);
}

struct Upload {
    std::string text;
    std::size_t offset = 0;
};

std::size_t read_upload(char* buffer, std::size_t size, std::size_t count, void* user) {
    auto* up = static_cast<Upload*>(user);
    std::size_t n = std::min(size * count, up->text.size() - up->offset);
    // NOLINTNEXTLINE(bugprone-not-null-terminated-result): curl reads bytes, not a C string
    std::memcpy(buffer, up->text.data() + up->offset, n);
    up->offset += n;
    return n;
}

std::size_t collect(char* data, std::size_t size, std::size_t count, void* user) {
    auto* out = static_cast<std::string*>(user);
    if (out->size() < 4096) {
        out->append(data, std::min(size * count, 4096 - out->size()));
    }
    return size * count;
}

// RFC 2047 for a subject that is not plain ASCII.
std::string header_value(const std::string& text) {
    for (char c : text) {
        if (static_cast<unsigned char>(c) >= 0x80) {
            return "=?UTF-8?B?" + to_base64(text) + "?=";
        }
    }
    return text;
}

bool safe_address(const std::string& address) {
    if (address.empty() || address.find('@') == std::string::npos) {
        return false;
    }
    for (char c : address) {
        if (c == '\r' || c == '\n' || c == '<' || c == '>' || c == ' ' || c == ',') {
            return false;
        }
    }
    return true;
}

std::string rfc5322_date(model::Time at) {
    auto secs = static_cast<std::time_t>(model::to_millis(at) / 1000);
    std::tm utc{};
    ::gmtime_r(&secs, &utc);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &utc);
    return buf;
}

// SMTP lines are limited to 998 characters; a long normalized statement is wrapped.
std::string crlf_lines(const std::string& text) {
    std::string out;
    std::size_t column = 0;
    for (char c : text) {
        if (c == '\n') {
            out += "\r\n";
            column = 0;
            continue;
        }
        if (column >= 900) {
            out += "\r\n";
            column = 0;
        }
        out += c;
        ++column;
    }
    return out;
}

class SmtpTransport final : public Transport {
  public:
    SmtpTransport(SmtpSettings settings, std::chrono::milliseconds timeout)
        : settings_(std::move(settings)), timeout_(timeout) {}

    DeliveryResult deliver(const Message& message, const std::string& recipient) override {
        if (!safe_address(recipient) || !safe_address(settings_.from)) {
            return {false, "refused address \"" + recipient + "\": not a plain email address"};
        }
        CurlHandle curl = new_handle();
        if (!curl) {
            return {false, "curl_easy_init failed"};
        }
        Upload upload{email_text(message, settings_.from, recipient, model::wall_clock_now())};
        CurlList rcpt(curl_slist_append(nullptr, ("<" + recipient + ">").c_str()),
                      &curl_slist_free_all);
        const std::string from = "<" + settings_.from + ">";
        char error[CURL_ERROR_SIZE] = {0};
        CURL* c = curl.get();
        curl_easy_setopt(c, CURLOPT_URL, settings_.url.c_str());
        curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str());
        curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt.get());
        curl_easy_setopt(c, CURLOPT_READFUNCTION, &read_upload);
        curl_easy_setopt(c, CURLOPT_READDATA, &upload);
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(upload.text.size()));
        long use_ssl = CURLUSESSL_NONE;
        if (settings_.starttls == StartTls::try_) {
            use_ssl = CURLUSESSL_TRY;
        } else if (settings_.starttls == StartTls::required) {
            use_ssl = CURLUSESSL_ALL;
        }
        curl_easy_setopt(c, CURLOPT_USE_SSL, use_ssl);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, settings_.verify_peer ? 1L : 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, settings_.verify_peer ? 2L : 0L);
        if (!settings_.ca_file.empty()) {
            curl_easy_setopt(c, CURLOPT_CAINFO, settings_.ca_file.c_str());
        }
        if (!settings_.username.empty()) {
            curl_easy_setopt(c, CURLOPT_USERNAME, settings_.username.c_str());
            curl_easy_setopt(c, CURLOPT_PASSWORD, settings_.password.c_str());
        }
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout_.count()));
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
        CURLcode rc = curl_easy_perform(c);
        if (rc != CURLE_OK) {
            return {false,
                    std::string("smtp: ") + (error[0] != 0 ? error : curl_easy_strerror(rc))};
        }
        return {true, {}};
    }

  private:
    SmtpSettings settings_;
    std::chrono::milliseconds timeout_;
};

class WebhookTransport final : public Transport {
  public:
    WebhookTransport(ChannelKind kind, WebhookSettings settings, std::chrono::milliseconds timeout)
        : kind_(kind), settings_(std::move(settings)), timeout_(timeout) {}

    DeliveryResult deliver(const Message& message, const std::string& /*recipient*/) override {
        CurlHandle curl = new_handle();
        if (!curl) {
            return {false, "curl_easy_init failed"};
        }
        const std::string body = webhook_body(kind_, message);
        CurlList headers(curl_slist_append(nullptr, "Content-Type: application/json"),
                         &curl_slist_free_all);
        if (!message.delivery_key.empty()) {
            // A receiver that keeps keys drops the copy a crash before mark_delivered resends.
            const std::string key = "Idempotency-Key: " + message.delivery_key;
            headers.reset(curl_slist_append(headers.release(), key.c_str()));
        }
        std::string response;
        char error[CURL_ERROR_SIZE] = {0};
        CURL* c = curl.get();
        curl_easy_setopt(c, CURLOPT_URL, settings_.url.c_str());
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &collect);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &response);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        CURLcode rc = curl_easy_perform(c);
        if (rc != CURLE_OK) {
            return {false,
                    std::string("webhook: ") + (error[0] != 0 ? error : curl_easy_strerror(rc))};
        }
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (status < 200 || status >= 300) {
            return {false,
                    "webhook: HTTP " + std::to_string(status) + ": " + response.substr(0, 200)};
        }
        return {true, {}};
    }

  private:
    ChannelKind kind_;
    WebhookSettings settings_;
    std::chrono::milliseconds timeout_;
};

}  // namespace

std::string webhook_body(ChannelKind kind, const Message& m) {
    using nlohmann::json;
    switch (kind) {
        case ChannelKind::rocketchat:
            return json{{"text", m.subject},
                        {"attachments",
                         json::array({json{
                             {"title", m.subject}, {"title_link", m.link}, {"text", m.text}}})}}
                .dump();
        case ChannelKind::teams:
            return json{
                {"@type", "MessageCard"},
                {"@context", "https://schema.org/extensions"},
                {"summary", m.subject},
                {"title", m.subject},
                {"text", m.text},
                {"potentialAction",
                 json::array(
                     {json{{"@type", "OpenUri"},
                           {"name", "Open the request"},
                           {"targets", json::array({json{{"os", "default"}, {"uri", m.link}}})}}})}}
                .dump();
        case ChannelKind::slack:
        case ChannelKind::email:
            break;
    }
    return json{{"text", m.subject + "\n" + m.text}}.dump();
}

std::string email_text(const Message& m, const std::string& from, const std::string& recipient,
                       model::Time date) {
    // Stable across retries when the outbox row names it; else unique to this mail.
    const std::string id =
        sha256_hex(m.delivery_key.empty() ? m.subject + "\n" + recipient + "\n" +
                                                std::to_string(model::to_millis(date))
                                          : m.delivery_key + "\n" + recipient)
            .substr(0, 32);
    const std::string domain = from.substr(from.find('@') + 1);
    std::string t;
    t += "Date: " + rfc5322_date(date) + "\r\n";
    t += "From: " + from + "\r\n";
    t += "To: " + recipient + "\r\n";
    t += "Subject: " + header_value(m.subject) + "\r\n";
    t += "Message-ID: <" + id + "@" + domain + ">\r\n";
    t += "MIME-Version: 1.0\r\n";
    t += "Content-Type: text/plain; charset=utf-8\r\n";
    t += "Content-Transfer-Encoding: 8bit\r\n";
    t += "Auto-Submitted: auto-generated\r\n";
    t += "\r\n";
    t += crlf_lines(m.text);
    return t;
}

std::unique_ptr<Transport> make_transport(const ChannelConfig& channel) {
    if (channel.kind == ChannelKind::email) {
        return std::make_unique<SmtpTransport>(channel.smtp, channel.timeout);
    }
    return std::make_unique<WebhookTransport>(channel.kind, channel.webhook, channel.timeout);
}

}  // namespace datafix::notify
