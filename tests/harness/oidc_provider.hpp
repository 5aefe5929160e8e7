// The tests' OpenID Connect provider: npm's oidc-provider run by tests/oidc/provider.mjs on
// loopback (a real, certified implementation with its own login, consent and device pages), started
// for one test with datafix's callback URL and the people who may sign in, stopped with it.
#pragma once

#include <sys/types.h>

#include <cstdio>
#include <string>

namespace datafix::testing {

// The client secret of the provider's client "datafix" (fabricated).
inline constexpr const char* kOidcClientSecret = "fabricated-client-secret-for-tests";

class LoopbackOidcProvider {
  public:
    // `people_json`: a JSON list of {id, email, email_verified, name, groups} (provider.mjs).
    LoopbackOidcProvider(const std::string& redirect_uri, const std::string& people_json);
    ~LoopbackOidcProvider();
    LoopbackOidcProvider(const LoopbackOidcProvider&) = delete;
    LoopbackOidcProvider& operator=(const LoopbackOidcProvider&) = delete;

    // Its issuer URL ("http://127.0.0.1:PORT"); empty when it did not start.
    const std::string& issuer() const { return issuer_; }

    // Whether `npm ci` ran in tests/oidc (the provider's packages are there).
    static bool installed();

  private:
    pid_t pid_ = -1;
    FILE* stream_ = nullptr;
    std::string issuer_;
};

// A free TCP port on 127.0.0.1 (for a server whose URL must be known before it starts).
int free_loopback_port();

}  // namespace datafix::testing
