// Queueing (Notifier) and delivering (Dispatcher, DispatchLoop). Queueing touches no network, so
// a change is never held up by a mail server; delivery retries with exponential backoff and
// keeps every failure visible in the outbox until the message is out.
#include "notify/notifier.hpp"

#include <set>

#include "core/error.hpp"
#include "core/fault.hpp"

namespace datafix::notify {

namespace {

std::optional<Contact> person_for(const ChangeSummary& s, PersonRole role) {
    switch (role) {
        case PersonRole::product_owner:
            return s.product_owner;
        case PersonRole::driver:
            return s.driver;
        case PersonRole::pair:
            return s.pair;
    }
    return std::nullopt;
}

}  // namespace

Notifier::Notifier(NotifyConfig config, Outbox& outbox)
    : config_(std::move(config)), outbox_(outbox) {
    config_.validate();
}

std::vector<NewNotification> Notifier::compose(const ChangeSummary& summary) const {
    std::vector<NewNotification> out;
    auto routes = config_.routes.find(summary.event);
    if (routes == config_.routes.end()) {
        return out;
    }
    const std::string payload = message_to_payload(render(summary, config_.base_url));
    for (const auto& route : routes->second) {
        const ChannelConfig* channel = config_.find_channel(route.channel);
        NewNotification n{summary.event, summary.request, route.channel, {}, payload};
        if (channel->kind != ChannelKind::email) {
            out.push_back(n);
            continue;
        }
        // One row per address, each once even when a person is named twice.
        std::set<std::string> recipients(route.addresses.begin(), route.addresses.end());
        for (PersonRole role : route.people) {
            auto contact = person_for(summary, role);
            if (contact && !contact->email.empty()) {
                recipients.insert(contact->email);
            }
        }
        for (const auto& address : recipients) {
            n.recipient = address;
            out.push_back(n);
        }
    }
    return out;
}

std::vector<std::int64_t> Notifier::notify(const ChangeSummary& summary, model::Time now) {
    std::vector<std::int64_t> ids;
    for (const auto& n : compose(summary)) {
        ids.push_back(outbox_.enqueue(n, now));
    }
    return ids;
}

std::chrono::milliseconds Backoff::after(int attempts) const {
    auto delay = first;
    for (int i = 1; i < attempts && delay < max; ++i) {
        delay *= 2;
    }
    return std::min(delay, max);
}

Dispatcher::Dispatcher(const NotifyConfig& config, Outbox& outbox, Backoff backoff)
    : outbox_(outbox), backoff_(backoff) {
    for (const auto& channel : config.channels) {
        transports_[channel.name] = make_transport(channel);
    }
}

void Dispatcher::set_transport(const std::string& channel, std::unique_ptr<Transport> transport) {
    transports_[channel] = std::move(transport);
}

DispatchReport Dispatcher::run_once(model::Time now, int limit) {
    DispatchReport report;
    for (const Notification& n : outbox_.due(now, limit)) {
        // The batch is claimed and nothing of this row has left yet.
        fault_point("notify.claimed");
        if (!outbox_.still_claimed(n.id)) {
            // This dispatcher was taken for gone (it hung past its heartbeat lease) and another
            // server reclaimed the row: sending it now would only duplicate that server's copy.
            continue;
        }
        DeliveryResult result;
        auto transport = transports_.find(n.content.channel);
        if (transport == transports_.end()) {
            result.error = "channel \"" + n.content.channel + "\" is no longer configured";
        } else {
            try {
                Message message = message_from_payload(n.content.payload);
                append_audit_footer(message, n.audit_head);
                message.delivery_key = "datafix-" + std::to_string(n.id) + "-" +
                                       std::to_string(model::to_millis(n.created_at));
                result = transport->second->deliver(message, n.content.recipient);
            } catch (const Error& e) {
                result.error = e.message();
            }
        }
        if (result.delivered) {
            // The peer has the message, the outbox does not know yet: a crash here sends it
            // again, under the same delivery key.
            fault_point("notify.delivered");
            outbox_.mark_delivered(n.id, now);
            ++report.delivered;
        } else {
            outbox_.mark_failed(n.id, result.error, now + backoff_.after(n.attempts + 1));
            ++report.failed;
        }
    }
    return report;
}

DispatchLoop::DispatchLoop(Dispatcher& dispatcher, std::chrono::milliseconds interval,
                           std::function<model::Time()> clock)
    : dispatcher_(dispatcher), interval_(interval), clock_(std::move(clock)) {
    thread_ = std::thread([this] { run(); });
}

DispatchLoop::~DispatchLoop() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

void DispatchLoop::wake() {
    {
        std::lock_guard lock(mutex_);
        woken_ = true;
    }
    cv_.notify_all();
}

void DispatchLoop::run() {
    std::unique_lock lock(mutex_);
    while (!stop_) {
        lock.unlock();
        try {
            dispatcher_.run_once(clock_());
        } catch (const std::exception&) {
            // The outbox itself failed (e.g. the ledger is briefly unreachable): nothing was
            // lost, the rows stay due, and the next round tries again.
        }
        lock.lock();
        cv_.wait_for(lock, interval_, [this] { return stop_ || woken_; });
        woken_ = false;
    }
}

}  // namespace datafix::notify
