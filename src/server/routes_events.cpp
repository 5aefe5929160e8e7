// GET /api/requests/{n}/events: server-sent events of every step on a request, so the pair can
// watch the driver live. Opens with the request's current version; a comment line every few
// seconds keeps proxies from closing a quiet stream (and shows the server a watcher that left).
// A stream holds no thread while it waits; the hub limits how many a person and the server may
// have open (429 and 503 beyond).
#include "server/api_error.hpp"
#include "server/route_support.hpp"
#include "server/routes.hpp"

namespace datafix::server {

namespace {

constexpr std::chrono::seconds kKeepAlive{5};

// One watcher's stream: the opening frame, then the subscription's frames as they come.
class EventStream : public BodyStream {
  public:
    EventStream(EventHub& hub, model::RequestNumber number, std::shared_ptr<Subscription> sub,
                std::string first)
        : hub_(hub), number_(number), sub_(std::move(sub)), first_(std::move(first)) {}
    ~EventStream() override { hub_.unsubscribe(number_, sub_); }

    void start(std::function<void()> wake) override { sub_->on_ready(std::move(wake)); }

    Next read(std::string& out) override {
        auto now = std::chrono::steady_clock::now();
        if (!first_.empty()) {
            out = std::move(first_);
            first_.clear();
        } else if (auto frame = sub_->next()) {
            out = std::move(*frame);
        } else if (sub_->closed()) {
            return Next::end;
        } else if (now - last_sent_ >= kKeepAlive) {
            out = ": keep-alive\n\n";
        } else {
            return Next::wait;
        }
        last_sent_ = now;
        return Next::data;
    }

  private:
    EventHub& hub_;
    model::RequestNumber number_;
    std::shared_ptr<Subscription> sub_;
    std::string first_;
    std::chrono::steady_clock::time_point last_sent_ = std::chrono::steady_clock::now();
};

[[noreturn]] void refuse_stream(EventHub::Refusal refusal, const EventHub& hub) {
    if (refusal == EventHub::Refusal::person_at_limit) {
        throw ApiError(ErrorCode::too_many, "streams-per-person",
                       "you have " + std::to_string(hub.limits().per_person) +
                           " live event streams open, the most one person may have",
                       "close a datafix watch or a browser tab showing a request, then try again");
    }
    throw ApiError(ErrorCode::busy, "streams-full",
                   "the server has " + std::to_string(hub.limits().total) +
                       " live event streams open, the most it takes",
                   "try again later; an administrator may raise [server] max_streams");
}

}  // namespace

void add_event_routes(Router& http, Context& context) {
    http.Get(R"(/api/requests/(\d+)/events)",
             authed(context, [&context](const auto& req, auto& res, const model::Person& actor) {
                 model::RequestNumber number = path_number(req, 1);
                 const model::RequestState state = context.load_request(number);
                 auto subscribed = context.events().subscribe(number, actor.id);
                 if (!subscribed.subscription) {
                     refuse_stream(subscribed.refusal, context.events());
                 }
                 nlohmann::json hello = {{"type", "watching"},
                                         {"request", number},
                                         {"version", state.version},
                                         {"status", model::status_name(state.request.status)},
                                         {"watcher", actor.name}};
                 res.set_header("Cache-Control", "no-store");
                 res.set_header("X-Accel-Buffering", "no");
                 res.set_stream("text/event-stream",
                                std::make_shared<EventStream>(
                                    context.events(), number, std::move(subscribed.subscription),
                                    "event: watching\ndata: " + hello.dump() + "\n\n"),
                                kKeepAlive);
             }));
}

}  // namespace datafix::server
