// A run's evidence. Its summary (tables, counts, keys, digests) is for everyone signed in; the
// decrypted before/after images, verify results and the database's failure message only for the
// people of the request (route_support.hpp's require_member).
#include "run/evidence_file.hpp"
#include "run/preflight_file.hpp"
#include "server/api_error.hpp"
#include "server/change_summary.hpp"
#include "server/evidence_view.hpp"
#include "server/route_support.hpp"
#include "server/routes.hpp"
#include "targetdb/copy_text.hpp"
#include "targetdb/image_store.hpp"

namespace datafix::server {

namespace {

// Enough rows to review by eye; the counts and digests cover the rest.
constexpr long kMaxRowsShown = 500;

nlohmann::json read_rows(targetdb::ImageStore& store, const targetdb::ImageFile& file,
                         bool& truncated) {
    nlohmann::json rows = nlohmann::json::array();
    if (file.path.empty()) {
        return rows;
    }
    targetdb::ImageReader reader(store, file);
    std::string row;
    while (reader.next(row)) {
        if (static_cast<long>(rows.size()) >= kMaxRowsShown) {
            truncated = true;
            break;
        }
        nlohmann::json cells = nlohmann::json::array();
        for (auto field : targetdb::split_copy_fields(row)) {
            auto value = targetdb::decode_copy_field(field);
            cells.push_back(value ? nlohmann::json(*value) : nullptr);
        }
        rows.push_back(std::move(cells));
    }
    return rows;
}

}  // namespace

void add_evidence_routes(Router& http, Context& context) {
    http.Get(R"(/api/requests/(\d+)/runs/(\d+)(/images)?)",
             authed(context, [&context](const auto& req, auto& res, const model::Person& actor) {
                 model::RequestNumber number = path_number(req, 1);
                 int run_number = static_cast<int>(path_number(req, 2));
                 bool images = !path_text(req, 3).empty();
                 const model::RequestState state = context.load_request(number);
                 const model::Run* run = nullptr;
                 for (const auto& r : state.runs) {
                     if (r.number == run_number) {
                         run = &r;
                     }
                 }
                 if (run == nullptr) {
                     throw ApiError(ErrorCode::not_found, "run-not-found",
                                    "no run " + std::to_string(run_number));
                 }
                 if (images) {
                     require_member(state, actor, "images-private", "row images");
                 }
                 nlohmann::json body = {{"run", run_json(*run, context.people())}};
                 // Names, counts and normalized statements only, like the evidence summary.
                 nlohmann::json preflight = run::load_preflight(
                     context.key(),
                     run::preflight_path(context.config().server.data_dir, number, run_number));
                 if (!preflight.is_null()) {
                     body["preflight"] = preflight;
                 }
                 if (run->before_images_path.empty()) {
                     send_json(res, body);
                     return;
                 }
                 targetdb::Evidence evidence =
                     run::load_evidence(context.key(), run->before_images_path);
                 body["evidence"] = evidence_summary(evidence);
                 if (!images) {
                     send_json(res, body);
                     return;
                 }
                 context.log().info("request {} run {}: images shown to user {}", number,
                                    run_number, actor.id);
                 targetdb::ImageStore store(context.key(), context.config().server.data_dir);
                 const auto display_keys = context.config().display_keys_of(run->environment);
                 nlohmann::json statements = nlohmann::json::array();
                 for (const auto& s : evidence.statements) {
                     if (s.before.path.empty() && s.after.path.empty()) {
                         continue;  // counted only: its rows are in the closure below
                     }
                     bool truncated = false;
                     nlohmann::json before = read_rows(store, s.before, truncated);
                     nlohmann::json after = read_rows(store, s.after, truncated);
                     statements.push_back(
                         {{"index", s.index},
                          {"table", s.schema.empty() ? s.table : s.schema + "." + s.table},
                          {"columns", s.columns},
                          {"key_columns", s.key_columns},
                          {"display_key",
                           display_columns(s.schema.empty() ? s.table : s.schema + "." + s.table,
                                           s.columns, s.key_columns, display_keys)},
                          {"before", before},
                          {"after", after},
                          {"truncated", truncated}});
                 }
                 body["images"] = statements;
                 nlohmann::json closure = nlohmann::json::array();
                 for (const auto& c : evidence.closure) {
                     bool truncated = false;
                     nlohmann::json before = read_rows(store, c.before, truncated);
                     nlohmann::json after = read_rows(store, c.after, truncated);
                     closure.push_back(
                         {{"table", c.qualified()},
                          {"causes", c.causes},
                          {"indirect", is_indirect(c)},
                          {"append_only", c.append_only},
                          {"columns", c.columns},
                          {"key_columns", c.key_columns},
                          {"display_key",
                           display_columns(c.qualified(), c.columns, c.key_columns, display_keys)},
                          {"before", before},
                          {"after", after},
                          {"truncated", truncated}});
                 }
                 body["closure"] = closure;
                 // From every row of the sealed images, not only those shown above.
                 body["summary"] = summarize_changes(store, evidence, preflight, display_keys);
                 body["verify"] = run::verify_json(evidence);
                 body["failure_message"] = run->failure;
                 send_json(res, body);
             }));
}

}  // namespace datafix::server
