// GET /api/requests/{n}/events: server-sent events of every step on a request, so the pair can
// watch the driver live. Opens with the request's current version; a comment line every few
// seconds keeps proxies from closing a quiet stream.
#include "server/api_error.hpp"
#include "server/route_support.hpp"
#include "server/routes.hpp"

namespace datafix::server {

namespace {
constexpr std::chrono::seconds kKeepAlive{5};
}

void add_event_routes(httplib::Server& http, Context& context) {
    http.Get(
        R"(/api/requests/(\d+)/events)",
        authed(context, [&context](const auto& req, auto& res, const ledger::Person& actor) {
            ledger::RequestNumber number = path_number(req, 1);
            auto state = context.with_ledger([&](ledger::Ledger& l) { return l.load(number); });
            if (!state) {
                throw ApiError(ErrorCode::not_found, "request-not-found",
                               "no request " + std::to_string(number));
            }
            auto sub = context.events().subscribe(number);
            nlohmann::json hello = {{"type", "watching"},
                                    {"request", number},
                                    {"version", state->version},
                                    {"status", ledger::status_name(state->request.status)},
                                    {"watcher", actor.name}};
            auto first =
                std::make_shared<std::string>("event: watching\ndata: " + hello.dump() + "\n\n");
            res.set_header("Cache-Control", "no-store");
            res.set_header("X-Accel-Buffering", "no");
            res.set_chunked_content_provider(
                "text/event-stream",
                [sub, first](std::size_t, httplib::DataSink& sink) {
                    if (!first->empty()) {
                        std::string frame = std::move(*first);
                        first->clear();
                        return sink.write(frame.data(), frame.size());
                    }
                    if (sub->closed()) {
                        sink.done();
                        return true;
                    }
                    auto frame = sub->next(kKeepAlive);
                    std::string text = frame ? *frame : std::string(": keep-alive\n\n");
                    if (!sink.is_writable()) {
                        return false;
                    }
                    return sink.write(text.data(), text.size());
                },
                [&context, sub, number](bool) { context.events().unsubscribe(number, sub); });
        }));
}

}  // namespace datafix::server
