// A request's timeline for its people: the audit trail's entries of the request (names, hashes,
// counts) and its conversation (comments and requests for changes, with their text). Kept in
// the ledger, so the page shows the same history after a reload. Writing a comment or asking for
// changes are workflow steps (routes_requests.cpp).
#include "server/api_error.hpp"
#include "server/route_support.hpp"
#include "server/routes.hpp"
#include "server/state_json.hpp"

namespace datafix::server {

namespace {

// More than any request's history; the newest are kept when there are more.
constexpr int kTimelineEntries = 2000;

}  // namespace

void add_conversation_routes(Router& http, Context& context) {
    http.Get(R"(/api/requests/(\d+)/timeline)",
             authed(context, [&context](const auto& req, auto& res, const model::Person& actor) {
                 model::RequestNumber number = path_number(req, 1);
                 const model::RequestState state = context.load_request(number);
                 require_member(state, actor, "timeline-private", "the request's conversation");
                 model::AuditQuery query;
                 query.request = number;
                 query.limit = kTimelineEntries;
                 query.newest = true;
                 auto entries =
                     context.with_ledger([&](ledger::Ledger& l) { return l.read_audit(query); });
                 People people = context.people();
                 nlohmann::json audit = nlohmann::json::array();
                 for (const auto& e : entries) {
                     audit.push_back(audit_json(e, people));
                 }
                 nlohmann::json comments = nlohmann::json::array();
                 for (const auto& c : state.comments) {
                     comments.push_back(comment_json(c, people));
                 }
                 send_json(res, {{"entries", audit}, {"comments", comments}});
             }));
}

}  // namespace datafix::server
