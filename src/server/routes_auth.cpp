// Sign-in through the OpenID Connect provider ([auth.oidc]):
//   GET  /auth/session          whether sign-in is configured; with a session cookie, the person
//                               and the CSRF token the pages send with every state-changing call
//   GET  /auth/login?return_to= starts the authorization code flow (PKCE, state, nonce)
//   GET  /auth/callback         the provider's redirect: a session cookie, then the deep link
//   POST /auth/logout           ends the session (cookie with its CSRF token, or a CLI's token)
//   POST /api/auth/device       starts the device authorization grant for `datafix login`
//   POST /api/auth/device/token polls it: 202 while pending, then the CLI's session token
// The cookie is HttpOnly, SameSite=Lax, Path=/, and Secure unless public_url is plain http on a
// loopback host (see OidcSettings::secure_cookie).
#include <memory>

#include "server/api_error.hpp"
#include "server/route_support.hpp"
#include "server/routes.hpp"
#include "server/sign_in.hpp"
#include "server/state_json.hpp"

namespace datafix::server {

namespace {

std::string cookie(const OidcSettings& settings, const std::string& value,
                   std::chrono::seconds max_age) {
    return "datafix_session=" + value +
           "; Path=/; HttpOnly; SameSite=Lax; Max-Age=" + std::to_string(max_age.count()) +
           (settings.secure_cookie() ? "; Secure" : "");
}

// Unauthenticated routes answer errors the same way the authenticated ones do.
Handler answering(Context& context, Handler handler) {
    return [&context, handler = std::move(handler)](const Request& req, Response& res) {
        try {
            handler(req, res);
        } catch (const Error& e) {
            send_error(res, e);
        } catch (const std::exception& e) {
            context.log().error("{} {}: internal error: {}", req.method, req.path, e.what());
            send_error(res, Error(ErrorCode::internal, "internal error",
                                  "see the server log; report it if it repeats"));
        }
    };
}

SignIn& require_sign_in(const std::shared_ptr<SignIn>& sign_in) {
    if (!sign_in) {
        throw ApiError(ErrorCode::not_found, "sign-in-not-configured",
                       "this server signs people in with tokens only",
                       "use datafix login --token TOKEN (an administrator configures [auth.oidc])");
    }
    return *sign_in;
}

nlohmann::json signed_in_json(const SignedIn& s) {
    return {{"person", person_json(s.person)}, {"expires_at", format_time(s.expires_at)}};
}

}  // namespace

void add_auth_routes(Router& http, Context& context) {
    std::shared_ptr<SignIn> sign_in;
    if (context.config().oidc) {
        sign_in = std::make_shared<SignIn>(context, *context.config().oidc);
    }

    http.Get("/auth/session",
             answering(context, [&context, sign_in](const Request& req, Response& res) {
                 nlohmann::json body = {{"oidc", sign_in != nullptr}};
                 if (sign_in) {
                     body["provider"] = sign_in->settings().issuer;
                     const std::string token = session_cookie(req);
                     try {
                         if (auto person = authenticate_session(context, req, std::string())) {
                             body["person"] = person_json(*person);
                             body["csrf_token"] = csrf_token_for(token);
                         }
                     } catch (const Error&) {
                         // An ended or expired session: the browser forgets it, and the page
                         // offers the sign-in again.
                         res.set_header("Set-Cookie",
                                        cookie(sign_in->settings(), "", std::chrono::seconds{0}));
                     }
                 }
                 res.set_header("Cache-Control", "no-store");
                 send_json(res, body);
             }));

    http.Get("/auth/login", answering(context, [sign_in](const Request& req, Response& res) {
                 std::string url = require_sign_in(sign_in).begin(req.get_param_value("return_to"));
                 res.status = 302;
                 res.set_header("Location", url);
                 res.set_header("Cache-Control", "no-store");
             }));

    http.Get("/auth/callback", answering(context, [sign_in](const Request& req, Response& res) {
                 SignIn& s = require_sign_in(sign_in);
                 if (req.has_param("error")) {
                     // The person declined, or the provider refused; the pending sign-in
                     // lapses after its 10 minutes.
                     throw ApiError(ErrorCode::unauthenticated, "sign-in-declined",
                                    "the sign-in provider did not sign you in (" +
                                        req.get_param_value("error") + ")",
                                    "sign in again from the start");
                 }
                 SignedIn signed_in =
                     s.finish(req.get_param_value("code"), req.get_param_value("state"));
                 const auto max_age = std::chrono::duration_cast<std::chrono::seconds>(
                     s.settings().session_lifetime);
                 res.status = 303;
                 res.set_header("Set-Cookie", cookie(s.settings(), signed_in.token, max_age));
                 res.set_header("Location", signed_in.return_to);
                 res.set_header("Cache-Control", "no-store");
             }));

    http.Post("/auth/logout",
              answering(context, [&context, sign_in](const Request& req, Response& res) {
                  SignIn& s = require_sign_in(sign_in);
                  // Checks the session (and for a cookie the CSRF token and Origin) first: a
                  // page of another site cannot sign a person out.
                  std::string bearer;
                  const std::string header = req.get_header_value("Authorization");
                  if (header.rfind("Bearer ", 0) == 0) {
                      bearer = header.substr(7);
                  }
                  std::string token = bearer.empty() ? session_cookie(req) : bearer;
                  if (!authenticate_session(context, req, bearer)) {
                      throw ApiError(ErrorCode::unauthenticated, "session-required",
                                     "there is no session to sign out of",
                                     "tokens from datafix users add are revoked by an "
                                     "administrator (datafix users rotate-token EMAIL)");
                  }
                  s.sign_out(token);
                  res.set_header("Set-Cookie", cookie(s.settings(), "", std::chrono::seconds{0}));
                  send_json(res, {{"signed_out", true}});
              }));

    http.Post("/api/auth/device", answering(context, [sign_in](const Request&, Response& res) {
                  DeviceAuthorization d = require_sign_in(sign_in).start_device();
                  send_json(res, {{"device_code", d.device_code},
                                  {"user_code", d.user_code},
                                  {"verification_uri", d.verification_uri},
                                  {"verification_uri_complete", d.verification_uri_complete},
                                  {"interval", d.interval},
                                  {"expires_in", d.expires_in}});
              }));

    http.Post("/api/auth/device/token",
              answering(context, [&context, sign_in](const Request& req, Response& res) {
                  SignIn& s = require_sign_in(sign_in);
                  const std::string device_code =
                      string_field(json_body(context, req), "device_code");
                  bool slow_down = false;
                  auto signed_in = s.poll_device(device_code, slow_down);
                  if (!signed_in) {
                      send_json(res, {{"status", slow_down ? "slow_down" : "pending"}}, 202);
                      return;
                  }
                  nlohmann::json body = signed_in_json(*signed_in);
                  body["token"] = signed_in->token;
                  res.set_header("Cache-Control", "no-store");
                  send_json(res, body);
              }));
}

}  // namespace datafix::server
