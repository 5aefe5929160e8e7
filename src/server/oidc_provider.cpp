// Talking to the OpenID Connect provider over libcurl. Answers are read as JSON with nlohmann;
// an error answer is reported by its OAuth error code only (its description may echo input).
#include "server/oidc_provider.hpp"

#include <curl/curl.h>
#include <sodium.h>

#include <array>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace datafix::server {

namespace {

using CurlHandle = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;

std::size_t collect(char* data, std::size_t size, std::size_t count, void* user) {
    auto* body = static_cast<std::string*>(user);
    const std::size_t bytes = size * count;
    if (body->size() + bytes > 1024 * 1024) {
        return 0;  // a provider's answer is small; a huge one is cut off
    }
    body->append(data, bytes);
    return bytes;
}

std::string escape(CURL* curl, const std::string& value) {
    char* escaped = curl_easy_escape(curl, value.data(), static_cast<int>(value.size()));
    std::string out = escaped ? escaped : "";
    curl_free(escaped);
    return out;
}

std::string base64url(const unsigned char* bytes, std::size_t length) {
    std::string out(sodium_base64_encoded_len(length, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                    '\0');
    sodium_bin2base64(out.data(), out.size(), bytes, length,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    out.resize(std::strlen(out.c_str()));
    return out;
}

nlohmann::json json_of(const std::string& body) {
    nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
    return doc.is_discarded() || !doc.is_object() ? nlohmann::json::object() : doc;
}

Error provider_unreachable(const std::string& issuer, const std::string& what) {
    return Error(ErrorCode::unreachable, "the sign-in provider " + issuer + " " + what,
                 "check [auth.oidc] issuer and that the provider is up");
}

}  // namespace

std::string random_url_token() {
    if (sodium_init() < 0) {
        throw std::runtime_error("libsodium failed to initialise");
    }
    std::array<unsigned char, 32> bytes{};
    randombytes_buf(bytes.data(), bytes.size());
    return base64url(bytes.data(), bytes.size());
}

std::string pkce_challenge(const std::string& verifier) {
    std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
    crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(verifier.data()),
                       verifier.size());
    return base64url(digest.data(), digest.size());
}

OidcProvider::OidcProvider(OidcSettings settings, spdlog::logger& log)
    : settings_(std::move(settings)), log_(log) {}

OidcProvider::HttpAnswer OidcProvider::get(const std::string& url) {
    return post_form(url, std::string());
}

OidcProvider::HttpAnswer OidcProvider::post_form(const std::string& url, const std::string& form) {
    CurlHandle curl(curl_easy_init(), &curl_easy_cleanup);
    if (!curl) {
        throw Error(ErrorCode::internal, "curl_easy_init failed");
    }
    CURL* c = curl.get();
    HttpAnswer answer;
    char detail[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer.body);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);
    curl_slist* headers = curl_slist_append(nullptr, "Accept: application/json");
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> owned(headers,
                                                                      &curl_slist_free_all);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    if (!form.empty()) {
        // client_secret_basic: id and secret form-encoded, then in the Authorization header.
        const std::string user = escape(c, settings_.client_id);
        const std::string password = escape(c, settings_.client_secret);
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, user.c_str());
        curl_easy_setopt(c, CURLOPT_PASSWORD, password.c_str());
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, form.c_str());
        CURLcode code = curl_easy_perform(c);
        if (code != CURLE_OK) {
            throw provider_unreachable(
                settings_.issuer,
                std::string("cannot be reached: ") + (*detail ? detail : curl_easy_strerror(code)));
        }
    } else {
        CURLcode code = curl_easy_perform(c);
        if (code != CURLE_OK) {
            throw provider_unreachable(
                settings_.issuer,
                std::string("cannot be reached: ") + (*detail ? detail : curl_easy_strerror(code)));
        }
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &answer.status);
    return answer;
}

ProviderMetadata OidcProvider::metadata() {
    {
        std::lock_guard lock(mutex_);
        if (metadata_) {
            return *metadata_;
        }
    }
    auto answer = get(settings_.issuer + "/.well-known/openid-configuration");
    nlohmann::json doc = json_of(answer.body);
    if (answer.status != 200 || !doc.contains("issuer")) {
        throw provider_unreachable(settings_.issuer, "answered no discovery document (HTTP " +
                                                         std::to_string(answer.status) + ")");
    }
    ProviderMetadata m;
    m.issuer = doc.value("issuer", "");
    if (m.issuer != settings_.issuer) {
        // OpenID Connect Discovery 4.3: the document must be the issuer's own.
        throw Error(
            ErrorCode::config,
            "auth.oidc.issuer: the provider calls itself " + m.issuer + ", not " + settings_.issuer,
            "set [auth.oidc] issuer to exactly the provider's issuer");
    }
    m.authorization_endpoint = doc.value("authorization_endpoint", "");
    m.token_endpoint = doc.value("token_endpoint", "");
    m.jwks_uri = doc.value("jwks_uri", "");
    m.device_authorization_endpoint = doc.value("device_authorization_endpoint", "");
    m.end_session_endpoint = doc.value("end_session_endpoint", "");
    if (m.authorization_endpoint.empty() || m.token_endpoint.empty() || m.jwks_uri.empty()) {
        throw provider_unreachable(settings_.issuer,
                                   "published no authorization, token or key endpoint");
    }
    std::lock_guard lock(mutex_);
    metadata_ = m;
    return m;
}

std::string OidcProvider::authorization_url(const std::string& state, const std::string& nonce,
                                            const std::string& code_challenge) {
    ProviderMetadata m = metadata();
    CurlHandle curl(curl_easy_init(), &curl_easy_cleanup);
    std::string scopes;
    for (const auto& scope : settings_.scopes) {
        scopes += (scopes.empty() ? "" : " ") + scope;
    }
    std::string url = m.authorization_endpoint;
    url += url.find('?') == std::string::npos ? '?' : '&';
    url += "response_type=code&client_id=" + escape(curl.get(), settings_.client_id) +
           "&redirect_uri=" + escape(curl.get(), settings_.redirect_uri()) +
           "&scope=" + escape(curl.get(), scopes) + "&state=" + escape(curl.get(), state) +
           "&nonce=" + escape(curl.get(), nonce) +
           "&code_challenge=" + escape(curl.get(), code_challenge) + "&code_challenge_method=S256";
    return url;
}

std::string OidcProvider::exchange_code(const std::string& code, const std::string& verifier) {
    ProviderMetadata m = metadata();
    CurlHandle curl(curl_easy_init(), &curl_easy_cleanup);
    const std::string form = "grant_type=authorization_code&code=" + escape(curl.get(), code) +
                             "&redirect_uri=" + escape(curl.get(), settings_.redirect_uri()) +
                             "&code_verifier=" + escape(curl.get(), verifier);
    auto answer = post_form(m.token_endpoint, form);
    nlohmann::json doc = json_of(answer.body);
    if (answer.status != 200 || !doc.contains("id_token") || !doc["id_token"].is_string()) {
        throw Error(ErrorCode::unauthenticated,
                    "the sign-in provider refused the sign-in (" +
                        doc.value("error", "HTTP " + std::to_string(answer.status)) + ")",
                    "sign in again from the start");
    }
    return doc["id_token"].get<std::string>();
}

DeviceAuthorization OidcProvider::start_device_authorization() {
    ProviderMetadata m = metadata();
    if (m.device_authorization_endpoint.empty()) {
        throw Error(
            ErrorCode::config,
            "the sign-in provider " + settings_.issuer + " offers no device authorization grant",
            "enable the device grant for the client at the provider (Keycloak: OAuth "
            "2.0 Device Authorization Grant), or use datafix login --token");
    }
    CurlHandle curl(curl_easy_init(), &curl_easy_cleanup);
    std::string scopes;
    for (const auto& scope : settings_.scopes) {
        scopes += (scopes.empty() ? "" : " ") + scope;
    }
    auto answer = post_form(m.device_authorization_endpoint, "scope=" + escape(curl.get(), scopes));
    nlohmann::json doc = json_of(answer.body);
    if (answer.status != 200 || !doc.contains("device_code")) {
        throw Error(ErrorCode::unauthenticated,
                    "the sign-in provider refused the device sign-in (" +
                        doc.value("error", "HTTP " + std::to_string(answer.status)) + ")",
                    "enable the device grant for datafix's client at the provider");
    }
    DeviceAuthorization d;
    d.device_code = doc.value("device_code", "");
    d.user_code = doc.value("user_code", "");
    d.verification_uri = doc.value("verification_uri", "");
    d.verification_uri_complete = doc.value("verification_uri_complete", "");
    d.interval = doc.value("interval", 5);
    d.expires_in = doc.value("expires_in", 600);
    return d;
}

DevicePoll OidcProvider::poll_device(const std::string& device_code) {
    ProviderMetadata m = metadata();
    CurlHandle curl(curl_easy_init(), &curl_easy_cleanup);
    auto answer =
        post_form(m.token_endpoint,
                  "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=" +
                      escape(curl.get(), device_code));
    nlohmann::json doc = json_of(answer.body);
    DevicePoll poll;
    if (answer.status == 200 && doc.contains("id_token") && doc["id_token"].is_string()) {
        poll.outcome = DevicePoll::Outcome::id_token;
        poll.id_token = doc["id_token"].get<std::string>();
        return poll;
    }
    const std::string error = doc.value("error", "");
    if (error == "authorization_pending") {
        poll.outcome = DevicePoll::Outcome::pending;
    } else if (error == "slow_down") {
        poll.outcome = DevicePoll::Outcome::slow_down;
    } else if (error == "access_denied") {
        poll.outcome = DevicePoll::Outcome::denied;
    } else {
        poll.outcome = DevicePoll::Outcome::expired;
    }
    return poll;
}

void OidcProvider::refresh_keys(bool force) {
    {
        std::lock_guard lock(mutex_);
        const auto now = std::chrono::steady_clock::now();
        if (keys_fetched_ && !force) {
            return;
        }
        // Tokens naming unknown keys must not make this server hammer the provider: a forced
        // fetch at most every 10 s.
        if (force && last_forced_fetch_ && now - *last_forced_fetch_ < std::chrono::seconds{10}) {
            return;
        }
        if (force) {
            last_forced_fetch_ = now;
        }
    }
    ProviderMetadata m = metadata();
    auto answer = get(m.jwks_uri);
    if (answer.status != 200) {
        throw provider_unreachable(
            settings_.issuer,
            "answered HTTP " + std::to_string(answer.status) + " for its key set");
    }
    Jwks keys = Jwks::parse(answer.body);
    std::lock_guard lock(mutex_);
    keys_ = std::move(keys);
    keys_fetched_ = std::chrono::steady_clock::now();
    log_.info("sign-in provider {}: {} signing keys", settings_.issuer, keys_.size());
}

IdTokenCheck OidcProvider::verify(const std::string& id_token,
                                  const std::optional<std::string>& nonce) {
    IdTokenExpectations expected;
    expected.issuer = settings_.issuer;
    expected.audience = settings_.client_id;
    expected.nonce = nonce;
    expected.clock_skew = settings_.clock_skew;
    refresh_keys(false);
    IdTokenCheck check;
    {
        std::lock_guard lock(mutex_);
        check = verify_id_token(id_token, keys_, expected);
    }
    if (!check.valid && check.failure == IdTokenFailure::unknown_key) {
        // The provider may have rotated its keys since they were fetched.
        refresh_keys(true);
        std::lock_guard lock(mutex_);
        check = verify_id_token(id_token, keys_, expected);
    }
    return check;
}

}  // namespace datafix::server
