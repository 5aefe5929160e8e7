// The inbox: each person's open work, the same for the CLI (`datafix inbox`) and the pages' home.
// Three lists — waiting on you, yours, all open — each request with its next step in words and
// who owns it by name (workflow::next_step decides both; this file only sorts), and a quiet
// fourth: done or cancelled requests whose data outside production the viewer still puts back.
#include "server/api_error.hpp"
#include "server/route_support.hpp"
#include "server/routes.hpp"
#include "workflow/progress.hpp"
#include "workflow/reading.hpp"

namespace datafix::server {

namespace {

// Requests read per inbox: the newest ones; a closed request stays in it (to tidy up) while its
// data is still changed outside production.
constexpr int kInboxRequests = 200;

bool waits_on(const workflow::NextStep& next, const model::Person& person) {
    return next.person == person.id && next.person != 0 && next.owner != workflow::Owner::running;
}

}  // namespace

void add_inbox_routes(Router& http, Context& context) {
    http.Get("/api/inbox",
             authed(context, [&context](const auto&, auto& res, const model::Person& viewer) {
                 auto summaries = context.with_ledger([](ledger::Ledger& l) {
                     return l.list_requests(ledger::RequestFilter{std::nullopt, kInboxRequests});
                 });
                 const People people = context.people();
                 const workflow::WorkflowConfig& workflow = context.config().workflow();
                 const auto now = model::wall_clock_now();
                 nlohmann::json waiting = nlohmann::json::array();
                 nlohmann::json yours = nlohmann::json::array();
                 nlohmann::json open = nlohmann::json::array();
                 nlohmann::json tidy = nlohmann::json::array();
                 for (const auto& summary : summaries) {
                     auto state = context.with_ledger(
                         [&](ledger::Ledger& l) { return l.load(summary.request.number); });
                     if (!state) {
                         continue;
                     }
                     const workflow::NextStep next = workflow::next_step(*state, workflow, now);
                     const bool is_open = state->request.status == model::RequestStatus::open;
                     if (!is_open && next.owner == workflow::Owner::nobody) {
                         continue;
                     }
                     nlohmann::json item = inbox_item_json(*state, people, workflow, now);
                     // Putting test data back after the end is a real to-do, but nobody waits on
                     // it: it is listed apart, never among the approvals people wait for.
                     if (!is_open) {
                         if (waits_on(next, viewer)) {
                             tidy.push_back(std::move(item));
                         }
                         continue;
                     }
                     if (waits_on(next, viewer)) {
                         waiting.push_back(item);
                     }
                     const bool member = workflow::reading::is_member(*state, viewer.id);
                     if (member) {
                         yours.push_back(item);
                     }
                     // Someone without a role sees only the requests they are a member of.
                     if (member || viewer.role != model::Role::none) {
                         open.push_back(std::move(item));
                     }
                 }
                 send_json(res, {{"waiting_on_you", waiting},
                                 {"yours", yours},
                                 {"open", open},
                                 {"to_tidy_up", tidy}});
             }));
}

}  // namespace datafix::server
