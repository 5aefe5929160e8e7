// ID token verification against real keys: RSA-2048 and P-256 key pairs made by cjose (OpenSSL)
// in the test, tokens signed with them, and the published halves as the provider's JWKS. Each
// refusal (forged, expired, not yet valid, another audience or issuer, a wrong nonce, alg=none,
// HS256 keyed with the public key, an unknown kid) is checked next to the same token accepted.
#include <cjose/cjose.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.hpp"
#include "server/id_token.hpp"

namespace datafix::server {

namespace {

using Clock = std::chrono::system_clock;

struct KeyPair {
    cjose_jwk_t* jwk = nullptr;
    std::string kid;
    std::string alg;
    ~KeyPair() { cjose_jwk_release(jwk); }

    std::string public_json() const {
        cjose_err err{};
        char* json = cjose_jwk_to_json(jwk, false, &err);
        std::string text = json;
        cjose_get_dealloc()(json);
        auto doc = nlohmann::json::parse(text);
        doc["kid"] = kid;
        doc["use"] = "sig";
        doc["alg"] = alg;
        return doc.dump();
    }
};

std::unique_ptr<KeyPair> rsa_key(const std::string& kid, std::size_t bits = 2048) {
    auto key = std::make_unique<KeyPair>();
    cjose_err err{};
    static const uint8_t e[] = {0x01, 0x00, 0x01};
    key->jwk = cjose_jwk_create_RSA_random(bits, e, sizeof e, &err);
    key->kid = kid;
    key->alg = "RS256";
    return key;
}

std::unique_ptr<KeyPair> ec_key(const std::string& kid) {
    auto key = std::make_unique<KeyPair>();
    cjose_err err{};
    key->jwk = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err);
    key->kid = kid;
    key->alg = "ES256";
    return key;
}

std::string jwks_of(std::initializer_list<const KeyPair*> keys) {
    nlohmann::json doc = {{"keys", nlohmann::json::array()}};
    for (const auto* k : keys) {
        doc["keys"].push_back(nlohmann::json::parse(k->public_json()));
    }
    return doc.dump();
}

std::string sign_with(const cjose_jwk_t* jwk, const std::string& alg, const std::string& kid,
                      const nlohmann::json& claims) {
    cjose_err err{};
    cjose_header_t* header = cjose_header_new(&err);
    cjose_header_set(header, CJOSE_HDR_ALG, alg.c_str(), &err);
    if (!kid.empty()) {
        cjose_header_set(header, CJOSE_HDR_KID, kid.c_str(), &err);
    }
    const std::string payload = claims.dump();
    cjose_jws_t* jws = cjose_jws_sign(jwk, header, reinterpret_cast<const uint8_t*>(payload.data()),
                                      payload.size(), &err);
    EXPECT_NE(jws, nullptr) << (err.message ? err.message : "");
    const char* compact = nullptr;
    cjose_jws_export(jws, &compact, &err);
    std::string token = compact;
    cjose_jws_release(jws);
    cjose_header_release(header);
    return token;
}

std::string sign(const KeyPair& key, const nlohmann::json& claims) {
    return sign_with(key.jwk, key.alg, key.kid, claims);
}

std::string b64url(const std::string& text) {
    char* out = nullptr;
    size_t length = 0;
    cjose_err err{};
    cjose_base64url_encode(reinterpret_cast<const uint8_t*>(text.data()), text.size(), &out,
                           &length, &err);
    std::string encoded(out, length);
    cjose_get_dealloc()(out);
    return encoded;
}

class IdToken : public testing::Test {
  protected:
    static void SetUpTestSuite() {
        rsa_ = rsa_key("rsa-1").release();
        ec_ = ec_key("ec-1").release();
        other_ = rsa_key("rsa-1").release();  // same kid, a key the provider never published
    }
    static void TearDownTestSuite() {
        delete rsa_;
        delete ec_;
        delete other_;
    }

    std::int64_t now_s() const {
        return std::chrono::duration_cast<std::chrono::seconds>(now_.time_since_epoch()).count();
    }
    nlohmann::json claims() const {
        return {{"iss", "https://sso.example.com/realms/team"},
                {"aud", "datafix"},
                {"sub", "f3a1c0de"},
                {"email", "po@example.com"},
                {"email_verified", true},
                {"nonce", "n-123"},
                {"iat", now_s() - 5},
                {"exp", now_s() + 300}};
    }
    IdTokenExpectations expected() const {
        IdTokenExpectations e;
        e.issuer = "https://sso.example.com/realms/team";
        e.audience = "datafix";
        e.nonce = "n-123";
        e.clock_skew = std::chrono::seconds{60};
        e.now = now_;
        return e;
    }
    IdTokenCheck check(const std::string& token) const {
        return verify_id_token(token, Jwks::parse(jwks_of({rsa_, ec_})), expected());
    }

    static KeyPair* rsa_;
    static KeyPair* ec_;
    static KeyPair* other_;
    Clock::time_point now_ = Clock::now();
};

KeyPair* IdToken::rsa_ = nullptr;
KeyPair* IdToken::ec_ = nullptr;
KeyPair* IdToken::other_ = nullptr;

}  // namespace

TEST_F(IdToken, Rs256AndEs256FromThePublishedKeysAreAccepted) {
    auto rs = check(sign(*rsa_, claims()));
    ASSERT_TRUE(rs.valid) << rs.reason;
    EXPECT_EQ(rs.claims["email"], "po@example.com");
    auto es = check(sign(*ec_, claims()));
    ASSERT_TRUE(es.valid) << es.reason;
    EXPECT_EQ(es.claims["sub"], "f3a1c0de");
}

TEST_F(IdToken, ASignatureByAnUnpublishedKeyIsRefused) {
    auto forged = check(sign(*other_, claims()));
    EXPECT_FALSE(forged.valid);
    EXPECT_EQ(forged.failure, IdTokenFailure::signature);
    // A claim changed after signing: the signature no longer covers what is read.
    std::string token = sign(*rsa_, claims());
    auto first = token.find('.');
    auto second = token.find('.', first + 1);
    nlohmann::json changed = claims();
    changed["email"] = "admin@example.com";
    std::string tampered =
        token.substr(0, first + 1) + b64url(changed.dump()) + token.substr(second);
    auto edited = check(tampered);
    EXPECT_FALSE(edited.valid);
    EXPECT_EQ(edited.failure, IdTokenFailure::signature);
}

TEST_F(IdToken, AlgNoneIsRefused) {
    std::string token =
        b64url(R"({"alg":"none","typ":"JWT"})") + "." + b64url(claims().dump()) + ".";
    auto none = check(token);
    EXPECT_FALSE(none.valid);
    EXPECT_EQ(none.failure, IdTokenFailure::algorithm);
    EXPECT_NE(none.reason.find("only RS256 and ES256"), std::string::npos) << none.reason;
}

TEST_F(IdToken, Hs256KeyedWithThePublicKeyIsRefused) {
    // The confusion attack: the provider's public key (public to anyone) as an HMAC secret.
    const std::string secret = rsa_->public_json();
    cjose_err err{};
    cjose_jwk_t* oct = cjose_jwk_create_oct_spec(reinterpret_cast<const uint8_t*>(secret.data()),
                                                 secret.size(), &err);
    ASSERT_NE(oct, nullptr);
    auto hs = check(sign_with(oct, "HS256", "rsa-1", claims()));
    cjose_jwk_release(oct);
    EXPECT_FALSE(hs.valid);
    EXPECT_EQ(hs.failure, IdTokenFailure::algorithm);
    // A symmetric key in the published set is never used either.
    auto hs_jwks = nlohmann::json::parse(jwks_of({rsa_}));
    hs_jwks["keys"].push_back({{"kty", "oct"}, {"kid", "rsa-1"}, {"k", b64url(secret)}});
    EXPECT_EQ(Jwks::parse(hs_jwks.dump()).size(), 1U);
}

TEST_F(IdToken, AKeyOfTheOtherTypeUnderTheSameKidIsRefused) {
    // ES256 in the header, but the kid names the RSA key: no P-256 key has that kid.
    auto ec_as_rsa = check(sign_with(ec_->jwk, "ES256", "rsa-1", claims()));
    EXPECT_FALSE(ec_as_rsa.valid);
    EXPECT_EQ(ec_as_rsa.failure, IdTokenFailure::unknown_key);
}

TEST_F(IdToken, ExpiredAndNotYetValidTokensAreRefusedBeyondTheSkew) {
    auto c = claims();
    c["exp"] = now_s() - 61;
    auto expired = check(sign(*rsa_, c));
    EXPECT_FALSE(expired.valid);
    EXPECT_EQ(expired.failure, IdTokenFailure::expired);
    c["exp"] = now_s() - 30;  // within the 60 s skew
    EXPECT_TRUE(check(sign(*rsa_, c)).valid);

    c = claims();
    c["nbf"] = now_s() + 120;
    auto early = check(sign(*rsa_, c));
    EXPECT_FALSE(early.valid);
    EXPECT_EQ(early.failure, IdTokenFailure::not_yet_valid);
    c["nbf"] = now_s() + 30;
    EXPECT_TRUE(check(sign(*rsa_, c)).valid);
    c = claims();
    c.erase("exp");
    EXPECT_FALSE(check(sign(*rsa_, c)).valid);
}

TEST_F(IdToken, AnotherAudienceOrIssuerIsRefused) {
    auto c = claims();
    c["aud"] = "another-client";
    auto aud = check(sign(*rsa_, c));
    EXPECT_FALSE(aud.valid);
    EXPECT_EQ(aud.failure, IdTokenFailure::audience);
    c["aud"] = nlohmann::json::array({"another-client", "datafix"});
    c["azp"] = "another-client";
    EXPECT_EQ(check(sign(*rsa_, c)).failure, IdTokenFailure::audience);
    c["azp"] = "datafix";
    EXPECT_TRUE(check(sign(*rsa_, c)).valid);

    c = claims();
    c["iss"] = "https://sso.example.com/realms/other";
    auto iss = check(sign(*rsa_, c));
    EXPECT_FALSE(iss.valid);
    EXPECT_EQ(iss.failure, IdTokenFailure::issuer);
}

TEST_F(IdToken, TheNonceMustBeTheSignInsOwn) {
    auto c = claims();
    c["nonce"] = "n-other";
    auto wrong = check(sign(*rsa_, c));
    EXPECT_FALSE(wrong.valid);
    EXPECT_EQ(wrong.failure, IdTokenFailure::nonce);
    c.erase("nonce");
    EXPECT_EQ(check(sign(*rsa_, c)).failure, IdTokenFailure::nonce);
    // The device grant sends no nonce: none is expected then.
    IdTokenExpectations device = expected();
    device.nonce.reset();
    EXPECT_TRUE(verify_id_token(sign(*rsa_, c), Jwks::parse(jwks_of({rsa_})), device).valid);
}

TEST_F(IdToken, RotatedKeysAreFoundByKidAndUnknownKidsReported) {
    auto rotated = rsa_key("rsa-2");
    std::string token = sign(*rotated, claims());
    auto before = verify_id_token(token, Jwks::parse(jwks_of({rsa_, ec_})), expected());
    EXPECT_FALSE(before.valid);
    EXPECT_EQ(before.failure, IdTokenFailure::unknown_key);
    Jwks after = Jwks::parse(jwks_of({rotated.get(), rsa_}));
    EXPECT_TRUE(after.has_key("rsa-2"));
    EXPECT_TRUE(verify_id_token(token, after, expected()).valid);
}

TEST_F(IdToken, ShortRsaKeysAndGarbageAreRefused) {
    auto weak = rsa_key("weak", 1024);
    auto short_key =
        verify_id_token(sign(*weak, claims()), Jwks::parse(jwks_of({weak.get()})), expected());
    EXPECT_FALSE(short_key.valid);
    EXPECT_EQ(short_key.failure, IdTokenFailure::algorithm);
    for (const char* garbage : {"", "a.b", "a.b.c.d", "!!!.???.###", "e30.e30.e30"}) {
        auto g = check(garbage);
        EXPECT_FALSE(g.valid) << garbage;
    }
    EXPECT_THROW(Jwks::parse("not json"), Error);
}

TEST_F(IdToken, ReasonsNeverQuoteTheToken) {
    auto c = claims();
    c["aud"] = "another-client";
    std::string token = sign(*rsa_, c);
    auto refused = check(token);
    EXPECT_EQ(refused.reason.find(token.substr(0, 20)), std::string::npos);
    EXPECT_EQ(refused.reason.find("po@example.com"), std::string::npos);
}

}  // namespace datafix::server
