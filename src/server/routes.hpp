// The HTTP API, one function per group of routes (each in its own routes_<group>.cpp).
#pragma once

#include "server/http.hpp"

#include "run/executor.hpp"
#include "server/context.hpp"

namespace datafix::run {
class Backups;
}

namespace datafix::server {

class Metrics;

// The web pages for product owners and pairs (web/, compiled in; routes_web.cpp).
void add_web_routes(Router& http);
// Sign-in through the OpenID Connect provider ([auth.oidc]); see routes_auth.cpp.
void add_auth_routes(Router& http, Context& context);
void add_user_routes(Router& http, Context& context);
void add_request_routes(Router& http, Context& context);
// GET /api/inbox: waiting on you, yours, all open, each with its next step (routes_inbox.cpp).
void add_inbox_routes(Router& http, Context& context);
void add_run_routes(Router& http, Context& context, run::Executor& executor);
void add_evidence_routes(Router& http, Context& context);
void add_conversation_routes(Router& http, Context& context);
void add_audit_routes(Router& http, Context& context);
void add_event_routes(Router& http, Context& context);
void add_preflight_routes(Router& http, Context& context);
// Backup jobs (run/backups.hpp): start, list, cancel (routes_backup.cpp).
void add_backup_routes(Router& http, Context& context, run::Backups& backups);
// /readyz (the ledger answers and its schema is this binary's) and /metrics (Prometheus text).
void add_operation_routes(Router& http, Context& context, Metrics& metrics);

}  // namespace datafix::server
