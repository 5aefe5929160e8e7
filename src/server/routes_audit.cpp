// The audit trail: read (hashes, counts, normalized names only) and verify the keyed chain,
// optionally against a head published earlier (?head=SEQ:MAC).
#include "ledger/audit_chain.hpp"
#include "server/api_error.hpp"
#include "server/route_support.hpp"
#include "server/routes.hpp"

namespace datafix::server {

void add_audit_routes(Router& http, Context& context) {
    http.Get("/api/audit", authed(context, [&context](const auto& req, auto& res, const auto&) {
                 model::AuditQuery query;
                 if (req.has_param("request")) {
                     query.request = std::atoll(req.get_param_value("request").c_str());
                 }
                 // Paging forward from a seq reads the oldest entries after it; without one,
                 // `limit` means the newest entries (what someone looking at the trail wants).
                 if (req.has_param("after")) {
                     query.after_seq = std::atoll(req.get_param_value("after").c_str());
                 } else {
                     query.newest = true;
                 }
                 if (req.has_param("limit")) {
                     query.limit =
                         std::clamp(std::atoi(req.get_param_value("limit").c_str()), 1, 10000);
                 }
                 auto entries =
                     context.with_ledger([&](ledger::Ledger& l) { return l.read_audit(query); });
                 People people = context.people();
                 nlohmann::json list = nlohmann::json::array();
                 for (const auto& e : entries) {
                     list.push_back(audit_json(e, people));
                 }
                 send_json(res, {{"entries", list}});
             }));

    http.Get("/api/audit/verify",
             authed(context, [&context](const auto& req, auto& res, const auto&) {
                 std::optional<model::AuditAnchor> anchor;
                 if (req.has_param("head")) {
                     anchor = ledger::parse_audit_anchor(req.get_param_value("head"));
                     if (!anchor) {
                         throw ApiError(ErrorCode::invalid_input, "audit-head",
                                        "the head is not SEQ:MAC or MAC (64 hex digits)",
                                        "copy it from a notification's footer or the server "
                                        "log's \"audit head\" line");
                     }
                 }
                 auto check =
                     context.with_ledger([&](ledger::Ledger& l) { return l.verify_audit(anchor); });
                 auto head = context.with_ledger([](ledger::Ledger& l) { return l.audit_head(); });
                 nlohmann::json body = {
                     {"intact", check.intact},
                     {"verifiable", check.verifiable},
                     {"entries", check.entries},
                     {"seq", check.seq ? nlohmann::json(*check.seq) : nullptr},
                     {"reason", check.reason},
                     {"keyed_from", check.keyed_from ? nlohmann::json(*check.keyed_from) : nullptr},
                     {"head_checked", check.anchor_checked},
                     {"head", head ? nlohmann::json(ledger::format_audit_anchor(*head)) : nullptr}};
                 send_json(res, body);
             }));
}

}  // namespace datafix::server
