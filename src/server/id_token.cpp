// ID token verification with cjose: the header is read only to choose the algorithm and the key
// (and to refuse anything but RS256/ES256 with a matching key); the signature is cjose's; the
// payload is read from cjose after the signature verified, never before.
#include "server/id_token.hpp"

#include <cjose/cjose.h>

#include "core/error.hpp"

namespace datafix::server {

struct Jwks::Entry {
    std::string kid;
    std::string kty;  // "RSA" or "EC"
    std::string alg;  // the key's declared algorithm, if any
    cjose_jwk_t* jwk = nullptr;
    ~Entry() {
        if (jwk != nullptr) {
            cjose_jwk_release(jwk);
        }
    }
};

Jwks::Jwks() = default;
Jwks::~Jwks() = default;
Jwks::Jwks(Jwks&&) noexcept = default;
Jwks& Jwks::operator=(Jwks&&) noexcept = default;

std::size_t Jwks::size() const {
    return keys_.size();
}

bool Jwks::has_key(std::string_view kid) const {
    for (const auto& key : keys_) {
        if (key->kid == kid) {
            return true;
        }
    }
    return false;
}

Jwks Jwks::parse(std::string_view json) {
    nlohmann::json doc = nlohmann::json::parse(json, nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("keys") ||
        !doc["keys"].is_array()) {
        throw Error(ErrorCode::unreachable, "the provider's jwks_uri answered no JSON key set",
                    "check [auth.oidc] issuer: its discovery document names the key set");
    }
    Jwks jwks;
    for (const auto& key : doc["keys"]) {
        if (!key.is_object() || !key.contains("kty") || !key["kty"].is_string()) {
            continue;
        }
        const std::string kty = key["kty"].get<std::string>();
        if (kty != "RSA" && !(kty == "EC" && key.value("crv", "") == "P-256")) {
            continue;  // symmetric keys and other curves never verify an ID token here
        }
        if (key.contains("use") && key["use"] != "sig") {
            continue;
        }
        const std::string text = key.dump();
        cjose_err err{};
        cjose_jwk_t* jwk = cjose_jwk_import(text.data(), text.size(), &err);
        if (jwk == nullptr) {
            continue;
        }
        auto entry = std::make_unique<Jwks::Entry>();
        entry->jwk = jwk;
        entry->kty = kty;
        entry->kid = key.value("kid", "");
        entry->alg = key.value("alg", "");
        jwks.keys_.push_back(std::move(entry));
    }
    return jwks;
}

std::string_view id_token_failure_name(IdTokenFailure failure) {
    switch (failure) {
        case IdTokenFailure::malformed:
            return "malformed";
        case IdTokenFailure::algorithm:
            return "algorithm";
        case IdTokenFailure::unknown_key:
            return "unknown-key";
        case IdTokenFailure::signature:
            return "signature";
        case IdTokenFailure::issuer:
            return "issuer";
        case IdTokenFailure::audience:
            return "audience";
        case IdTokenFailure::expired:
            return "expired";
        case IdTokenFailure::not_yet_valid:
            return "not-yet-valid";
        case IdTokenFailure::nonce:
            return "nonce";
        case IdTokenFailure::subject:
            return "subject";
    }
    return "malformed";
}

struct IdTokenVerifier {
    static const Jwks::Entry* key_for(const Jwks& keys, const std::string& kid,
                                      const std::string& kty, const std::string& alg) {
        const Jwks::Entry* found = nullptr;
        int candidates = 0;
        for (const auto& key : keys.keys_) {
            if (key->kty != kty || (!key->alg.empty() && key->alg != alg)) {
                continue;
            }
            if (!kid.empty() && key->kid == kid) {
                return key.get();
            }
            ++candidates;
            found = key.get();
        }
        // A token without kid is accepted only when one key could have signed it.
        return kid.empty() && candidates == 1 ? found : nullptr;
    }
};

namespace {

IdTokenCheck refuse(IdTokenFailure failure, std::string reason) {
    IdTokenCheck check;
    check.failure = failure;
    check.reason = std::move(reason);
    return check;
}

std::optional<nlohmann::json> decode_part(std::string_view part) {
    uint8_t* bytes = nullptr;
    size_t length = 0;
    cjose_err err{};
    if (!cjose_base64url_decode(part.data(), part.size(), &bytes, &length, &err)) {
        return std::nullopt;
    }
    std::string text(reinterpret_cast<const char*>(bytes), length);
    cjose_get_dealloc()(bytes);
    nlohmann::json json = nlohmann::json::parse(text, nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
        return std::nullopt;
    }
    return json;
}

using Seconds = std::chrono::seconds;

std::optional<std::int64_t> time_claim(const nlohmann::json& claims, const char* name) {
    auto it = claims.find(name);
    if (it == claims.end() || !it->is_number()) {
        return std::nullopt;
    }
    return it->is_number_integer() ? it->get<std::int64_t>()
                                   : static_cast<std::int64_t>(it->get<double>());
}

IdTokenCheck check_claims(nlohmann::json claims, const IdTokenExpectations& expected) {
    if (!claims.contains("iss") || claims["iss"] != expected.issuer) {
        return refuse(IdTokenFailure::issuer, "the ID token was issued by another provider");
    }
    const auto& aud = claims.value("aud", nlohmann::json());
    bool audience = false;
    if (aud.is_string()) {
        audience = aud == expected.audience;
    } else if (aud.is_array()) {
        for (const auto& a : aud) {
            audience = audience || a == expected.audience;
        }
        if (audience && aud.size() > 1 && claims.value("azp", "") != expected.audience) {
            audience = false;
        }
    }
    if (!audience) {
        return refuse(IdTokenFailure::audience, "the ID token is for another client");
    }
    const std::int64_t now =
        std::chrono::duration_cast<Seconds>(expected.now.time_since_epoch()).count();
    const std::int64_t skew = std::chrono::duration_cast<Seconds>(expected.clock_skew).count();
    auto exp = time_claim(claims, "exp");
    if (!exp) {
        return refuse(IdTokenFailure::malformed, "the ID token has no expiry (exp)");
    }
    if (*exp + skew <= now) {
        return refuse(IdTokenFailure::expired, "the ID token expired");
    }
    auto nbf = time_claim(claims, "nbf");
    auto iat = time_claim(claims, "iat");
    if ((nbf && *nbf - skew > now) || (iat && *iat - skew > now)) {
        return refuse(IdTokenFailure::not_yet_valid,
                      "the ID token is not valid yet (the provider's clock is ahead)");
    }
    if (expected.nonce && (!claims.contains("nonce") || claims["nonce"] != *expected.nonce)) {
        return refuse(IdTokenFailure::nonce, "the ID token's nonce is not this sign-in's");
    }
    if (!claims.contains("sub") || !claims["sub"].is_string() ||
        claims["sub"].get<std::string>().empty()) {
        return refuse(IdTokenFailure::subject, "the ID token names nobody (no sub)");
    }
    IdTokenCheck ok;
    ok.valid = true;
    ok.claims = std::move(claims);
    return ok;
}

}  // namespace

IdTokenCheck verify_id_token(std::string_view token, const Jwks& keys,
                             const IdTokenExpectations& expected) {
    auto first = token.find('.');
    auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
    if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
        return refuse(IdTokenFailure::malformed, "the ID token is not a signed JWT");
    }
    auto header = decode_part(token.substr(0, first));
    if (!header || !header->contains("alg") || !(*header)["alg"].is_string()) {
        return refuse(IdTokenFailure::malformed, "the ID token's header is unreadable");
    }
    const std::string alg = (*header)["alg"].get<std::string>();
    std::string kty;
    if (alg == "RS256") {
        kty = "RSA";
    } else if (alg == "ES256") {
        kty = "EC";
    } else {
        return refuse(IdTokenFailure::algorithm,
                      "the ID token is signed with " + (alg.empty() ? "no algorithm" : alg) +
                          "; only RS256 and ES256 with the provider's published keys are "
                          "accepted");
    }
    if (header->contains("crit")) {
        return refuse(IdTokenFailure::malformed, "the ID token has critical header extensions");
    }
    const std::string kid = header->value("kid", "");
    const Jwks::Entry* key = IdTokenVerifier::key_for(keys, kid, kty, alg);
    if (key == nullptr) {
        return refuse(IdTokenFailure::unknown_key,
                      "no published " + alg + " key of the provider has the ID token's key id");
    }
    if (kty == "RSA") {
        cjose_err err{};
        if (cjose_jwk_get_keysize(key->jwk, &err) < 2048) {
            return refuse(IdTokenFailure::algorithm,
                          "the provider's RSA key is shorter than 2048 bits");
        }
    }
    cjose_err err{};
    cjose_jws_t* jws = cjose_jws_import(token.data(), token.size(), &err);
    if (jws == nullptr) {
        return refuse(IdTokenFailure::malformed, "the ID token is not a signed JWT");
    }
    std::unique_ptr<cjose_jws_t, decltype(&cjose_jws_release)> owned(jws, &cjose_jws_release);
    if (!cjose_jws_verify(jws, key->jwk, &err)) {
        return refuse(IdTokenFailure::signature,
                      "the ID token's signature does not verify with the provider's key");
    }
    uint8_t* plaintext = nullptr;
    size_t length = 0;
    if (!cjose_jws_get_plaintext(jws, &plaintext, &length, &err)) {
        return refuse(IdTokenFailure::malformed, "the ID token has no payload");
    }
    nlohmann::json claims = nlohmann::json::parse(
        std::string(reinterpret_cast<const char*>(plaintext), length), nullptr, false);
    if (claims.is_discarded() || !claims.is_object()) {
        return refuse(IdTokenFailure::malformed, "the ID token's payload is not a JSON object");
    }
    return check_claims(std::move(claims), expected);
}

}  // namespace datafix::server
