// Change requests: create, list, show, and the people steps (claim, release, hand-over, pair,
// leave, cancel, product-owner approval) plus attaching a revision through the SQL guard.
#include "core/hash.hpp"
#include "server/api_error.hpp"
#include "server/guard_worker.hpp"
#include "server/notifications.hpp"
#include "server/route_support.hpp"
#include "server/routes.hpp"
#include "sql/analysis.hpp"
#include "sql/analysis_json.hpp"
#include "workflow/decide.hpp"

namespace datafix::server {

namespace {

void answer_state(Context& context, Response& res, const model::RequestState& state,
                  const model::Person& viewer, int status = 200) {
    send_json(res,
              state_json(state, context.people(), context.config().workflow(),
                         model::wall_clock_now(), viewer.id),
              status);
}

// The workflow knows people by id; a refusal about who holds a seat names them as people know
// them.
void name_the_holder(Context& context, const model::RequestState& state,
                     workflow::Refusal& refusal) {
    std::optional<model::UserId> holder;
    if (refusal.rule == "claim-taken" && state.claim) {
        holder = state.claim->driver;
    } else if (refusal.rule == "pair-taken" && state.pair) {
        holder = state.pair->pair;
    }
    if (!holder) {
        return;
    }
    People people = context.people();
    auto it = people.find(*holder);
    if (it != people.end()) {
        refusal.message += ": " + it->second.name + " <" + it->second.email + ">";
    }
}

// Performs a step and answers with the new state, or the refusal.
void step(Context& context, Response& res, model::RequestNumber number,
          const workflow::Action& action, const model::Person& actor) {
    workflow::Decision decision = context.perform(number, action, actor);
    if (!decision.allowed()) {
        workflow::Refusal refusal = *decision.refusal;
        name_the_holder(context, decision.state, refusal);
        throw_refusal(refusal);
    }
    answer_state(context, res, decision.state, actor);
}

// A step that voids approvals or leaves changed data behind (a new revision, a cancel): the
// answer says which, next to the new state.
void step_with_consequences(Context& context, Response& res, model::RequestNumber number,
                            const workflow::Action& action, const model::Person& actor,
                            const model::RequestState& before) {
    workflow::Decision decision = context.perform(number, action, actor);
    if (!decision.allowed()) {
        workflow::Refusal refusal = *decision.refusal;
        name_the_holder(context, decision.state, refusal);
        throw_refusal(refusal);
    }
    People people = context.people();
    const workflow::WorkflowConfig& workflow = context.config().workflow();
    nlohmann::json state =
        state_json(decision.state, people, workflow, model::wall_clock_now(), actor.id);
    state["consequences"] = consequences_json(before, decision.state, people, workflow);
    send_json(res, state);
}

model::Person find_person(Context& context, const nlohmann::json& body, const char* field) {
    auto it = body.find(field);
    std::optional<model::Person> person;
    std::string who;
    if (it != body.end() && it->is_number_integer()) {
        model::UserId id = it->get<model::UserId>();
        who = "with id " + std::to_string(id);
        person = context.with_ledger([&](ledger::Ledger& l) { return l.find_user(id); });
    } else {
        std::string email = string_field(body, field);
        who = email;
        person =
            context.with_ledger([&](ledger::Ledger& l) { return l.find_user_by_email(email); });
    }
    if (!person) {
        // The message speaks of people as the command line names them, not of API fields.
        throw ApiError(ErrorCode::not_found, "user-not-found", "no person " + who,
                       "name them by email (datafix users list shows everyone)");
    }
    return *person;
}

// The SQL guard's refusal, with its reasons per statement (normalized text and rules only).
[[noreturn]] void refuse_analysis(const sql::Analysis& analysis) {
    std::string rule;
    std::string message;
    std::string hint;
    for (const auto& s : analysis.statements) {
        if (!s.verdict.allowed) {
            rule = s.verdict.rule;
            message = analysis.file + ":" + std::to_string(s.line) + ":" +
                      std::to_string(s.column) + ": " + s.verdict.reason;
            hint = s.verdict.hint;
            break;
        }
    }
    throw ApiError(ErrorCode::refused, rule, message, hint, sql::to_json(analysis));
}

workflow::AttachRevision build_revision(const nlohmann::json& body) {
    workflow::AttachRevision revision;
    revision.change_sql = string_field(body, "change_sql");
    revision.verify_sql = string_field(body, "verify_sql", false);
    revision.all_rows = bool_field(body, "all_rows");
    revision.revert_first = bool_field(body, "revert_first");
    sql::Analysis change = analyze_in_worker(revision.change_sql, sql::FileRole::change,
                                             string_field(body, "change_name", false).empty()
                                                 ? "change.sql"
                                                 : string_field(body, "change_name", false));
    if (!change.all_allowed()) {
        refuse_analysis(change);
    }
    if (revision.verify_sql.find_first_not_of(" \t\r\n") != std::string::npos) {
        sql::Analysis verify = analyze_in_worker(revision.verify_sql, sql::FileRole::verify,
                                                 string_field(body, "verify_name", false).empty()
                                                     ? "verify.sql"
                                                     : string_field(body, "verify_name", false));
        if (!verify.all_allowed()) {
            refuse_analysis(verify);
        }
    }
    auto expected = body.find("expected");
    if (expected == body.end() || !expected->is_array()) {
        throw ApiError(ErrorCode::invalid_input, "expected-counts",
                       "\"expected\" must list the expected row count of each statement",
                       "pass --expect 1,1 (one count per statement)");
    }
    if (expected->size() != change.statements.size()) {
        throw ApiError(ErrorCode::invalid_input, "expected-counts",
                       "the change has " + std::to_string(change.statements.size()) +
                           " statements but " + std::to_string(expected->size()) +
                           " expected counts were given",
                       "give one count per statement, in file order");
    }
    for (std::size_t i = 0; i < change.statements.size(); ++i) {
        const auto& s = change.statements[i];
        const auto& count = (*expected)[i];
        if (!count.is_number_integer() || count.get<std::int64_t>() < 0) {
            throw ApiError(ErrorCode::invalid_input, "expected-counts",
                           "expected counts must be whole numbers of rows");
        }
        revision.statements.push_back(
            {s.normalized, s.fingerprint, sha256_hex(s.text), count.get<std::int64_t>()});
    }
    return revision;
}

}  // namespace

void add_request_routes(Router& http, Context& context) {
    http.Post("/api/requests",
              authed(context, [&context](const auto& req, auto& res, const model::Person& actor) {
                  nlohmann::json body = json_body(context, req);
                  workflow::NewRequest request;
                  request.title = string_field(body, "title");
                  request.reason = string_field(body, "reason", false);
                  request.requested_date = string_field(body, "requested_date", false);
                  request.ticket = string_field(body, "ticket", false);
                  std::optional<model::Person> requester;
                  if (body.contains("requested_by") && !body["requested_by"].is_null()) {
                      requester = find_person(context, body, "requested_by");
                      request.requested_by = requester->id;
                  }
                  workflow::Decision decision = context.create_request(request, actor);
                  if (!decision.allowed()) {
                      throw_refusal(*decision.refusal);
                  }
                  answer_state(context, res, decision.state, actor, 201);
              }));

    http.Get(
        "/api/requests", authed(context, [&context](const auto& req, auto& res, const auto&) {
            ledger::RequestFilter filter;
            if (req.has_param("status")) {
                auto status = model::parse_status(req.get_param_value("status"));
                if (!status) {
                    throw ApiError(ErrorCode::invalid_input, "unknown-status", "unknown status",
                                   "use open, done or cancelled");
                }
                filter.status = status;
            }
            if (req.has_param("limit")) {
                filter.limit = std::clamp(std::atoi(req.get_param_value("limit").c_str()), 1, 1000);
            }
            auto list =
                context.with_ledger([&](ledger::Ledger& l) { return l.list_requests(filter); });
            People people = context.people();
            nlohmann::json rows = nlohmann::json::array();
            auto now = model::wall_clock_now();
            for (const auto& s : list) {
                rows.push_back(summary_json(s, people, now));
            }
            send_json(res, {{"requests", rows}});
        }));

    http.Get(R"(/api/requests/(\d+))",
             authed(context, [&context](const auto& req, auto& res, const auto& viewer) {
                 model::RequestNumber number = path_number(req, 1);
                 nlohmann::json state =
                     state_json(context.load_request(number), context.people(),
                                context.config().workflow(), model::wall_clock_now(), viewer.id);
                 // A delivery's error (an SMTP server's answer) is for admins, who can act on
                 // it; the request's people see that a message waits.
                 state["undelivered"] =
                     undelivered_json(context.with_ledger([&](ledger::Ledger& l) {
                         return l.undelivered_notifications(number);
                     }),
                                      viewer.role == model::Role::admin);
                 send_json(res, state);
             }));

    http.Post(R"(/api/requests/(\d+)/(claim|release|pair|leave))",
              authed(context, [&context](const auto& req, auto& res, const model::Person& actor) {
                  json_body(context, req);  // refuses an oversized or malformed body
                  std::string verb = path_text(req, 2);
                  workflow::Action action = workflow::ClaimRequest{};
                  if (verb == "release") {
                      action = workflow::ReleaseClaim{};
                  } else if (verb == "pair") {
                      action = workflow::JoinPair{};
                  } else if (verb == "leave") {
                      action = workflow::LeavePair{};
                  }
                  step(context, res, path_number(req, 1), action, actor);
              }));

    http.Post(R"(/api/requests/(\d+)/handover)",
              authed(context, [&context](const auto& req, auto& res, const model::Person& actor) {
                  nlohmann::json body = json_body(context, req);
                  model::Person to = find_person(context, body, "to");
                  step(context, res, path_number(req, 1), workflow::HandOver{to}, actor);
              }));

    http.Post(R"(/api/requests/(\d+)/cancel)",
              authed(context, [&context](const auto& req, auto& res, const model::Person& actor) {
                  nlohmann::json body = json_body(context, req);
                  model::RequestNumber number = path_number(req, 1);
                  model::RequestState before = context.load_request(number);
                  step_with_consequences(
                      context, res, number,
                      workflow::CancelRequest{string_field(body, "reason", false)}, actor, before);
              }));

    // The conversation: the text is private like the reason (sealed; the audit trail and the
    // live event carry only the comment's number).
    http.Post(R"(/api/requests/(\d+)/comments)",
              authed(context, [&context](const auto& req, auto& res, const model::Person& actor) {
                  nlohmann::json body = json_body(context, req);
                  step(context, res, path_number(req, 1),
                       workflow::AddComment{string_field(body, "text")}, actor);
              }));

    http.Post(R"(/api/requests/(\d+)/request-changes)",
              authed(context, [&context](const auto& req, auto& res, const model::Person& actor) {
                  nlohmann::json body = json_body(context, req);
                  step(context, res, path_number(req, 1),
                       workflow::RequestChanges{string_field(body, "reason")}, actor);
              }));

    http.Post(R"(/api/requests/(\d+)/approve-production)",
              authed(context, [&context](const auto& req, auto& res, const model::Person& actor) {
                  nlohmann::json body = json_body(context, req);
                  step(context, res, path_number(req, 1),
                       workflow::ApproveProduction{string_field(body, "revision_hash")}, actor);
              }));

    http.Post(R"(/api/requests/(\d+)/revisions)",
              authed(context, [&context](const auto& req, auto& res, const model::Person& actor) {
                  nlohmann::json body = json_body(context, req);
                  model::RequestNumber number = path_number(req, 1);
                  // 404 before the guard's verdicts
                  model::RequestState before = context.load_request(number);
                  step_with_consequences(context, res, number, build_revision(body), actor, before);
              }));
}

}  // namespace datafix::server
