// libmicrohttpd behind http.hpp. One internal event thread (epoll) owns every connection; MHD
// calls on_request() on it once the headers are in, once per piece of body, and once at the end.
// At the end the request goes to the worker pool and its connection is suspended; the worker
// stores the answer and resumes the connection, and MHD calls on_request() again to send it. A
// stream's connection is suspended whenever its BodyStream has nothing to send and resumed by its
// wake function or by the ticker after the stream's idle interval.
//
// The ticker also enforces the header and body deadlines. MHD's own connection timeout only
// closes a connection that is silent; a client that drips a byte every few seconds would keep it
// forever. So each connection carries a clock (its socket context): which part of a request it
// is in and since when; a connection past its deadline is shut down (shutdown(2), which MHD sees
// as the peer's end). The clock is removed in MHD's "connection closed" notification, which comes
// before MHD closes the socket, and both hold the registry mutex, so the descriptor the ticker
// shuts down is always still this connection's.
#include "server/http_server.hpp"

#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <atomic>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "core/error.hpp"
#include "server/api_error.hpp"
#include "server/worker_pool.hpp"

namespace datafix::server {

namespace {

using Clock = std::chrono::steady_clock;

// How often deadlines and idle streams are looked at.
constexpr auto kTick = std::chrono::milliseconds(100);
// The most a stream's read() is asked for at once.
constexpr std::size_t kStreamBlock = 16 * 1024;
// How long stop() waits for suspended connections to be resumed before closing them anyway.
constexpr auto kStopGrace = std::chrono::seconds(5);

// Where one connection is in its current request, for the header and body deadlines.
struct ConnectionClock {
    enum class Phase { headers, body, handling };
    MHD_socket fd = MHD_INVALID_SOCKET;
    std::string address;
    Phase phase = Phase::headers;
    Clock::time_point since = Clock::now();
    int answered = 0;  // requests answered on this connection
    bool cut = false;
};

// One request on one connection, from its headers to its answer (MHD's per-request pointer).
struct Exchange {
    enum class State {
        receiving,  // headers in, body arriving
        working,    // on a worker; the connection is suspended
        answered,   // the worker's response waits to be queued
        queued,     // handed to MHD
    };
    MHD_Connection* connection = nullptr;
    Request request;
    bool too_large = false;
    std::mutex mutex;  // between the event thread and the worker
    State state = State::receiving;
    Response response;
};

// What wakes a sleeping stream. Shared with the stream's producer (an event subscription), which
// may call wake() after the connection is gone; then it does nothing.
struct StreamWaker {
    std::mutex mutex;
    MHD_Connection* connection = nullptr;
    std::chrono::milliseconds idle{0};
    std::atomic<int>* suspended_count = nullptr;
    Clock::time_point since;
    bool suspended = false;
    bool woken = false;     // a wake came while read() ran: read again before sleeping
    bool gone = false;      // the answer was freed; `connection` must not be touched
    bool stopping = false;  // the server stops: the stream ends at its next read

    // Called with `mutex` held.
    void resume() {
        suspended = false;
        --*suspended_count;
        MHD_resume_connection(connection);
    }
    void wake() {
        std::lock_guard lock(mutex);
        if (gone) {
            return;
        }
        if (suspended) {
            resume();
        } else {
            woken = true;
        }
    }
};

std::string address_text(const sockaddr* addr) {
    char text[INET6_ADDRSTRLEN] = "";
    if (addr == nullptr) {
        return "?";
    }
    if (addr->sa_family == AF_INET) {
        ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(addr)->sin_addr, text,
                    sizeof text);
    } else if (addr->sa_family == AF_INET6) {
        ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr, text,
                    sizeof text);
    }
    return text;
}

MHD_Result collect_header(void* cls, MHD_ValueKind, const char* key, const char* value) {
    static_cast<Headers*>(cls)->emplace(key, value == nullptr ? "" : value);
    return MHD_YES;
}

MHD_Result collect_param(void* cls, MHD_ValueKind, const char* key, const char* value) {
    static_cast<Params*>(cls)->emplace(key, value == nullptr ? "" : value);
    return MHD_YES;
}

unsigned int whole_seconds(std::chrono::milliseconds d) {
    return static_cast<unsigned int>((d.count() + 999) / 1000);
}

}  // namespace

struct HttpServer::Impl {
    struct StreamLink;

    const Router& router;
    ServerSettings settings;
    spdlog::logger& log;
    WorkerPool pool;
    MHD_Daemon* daemon = nullptr;
    std::atomic<int> suspended{0};

    std::mutex registry_mutex;
    std::unordered_set<ConnectionClock*> clocks;
    std::unordered_set<std::shared_ptr<StreamWaker>> streams;
    bool stopping = false;

    std::mutex tick_mutex;
    std::condition_variable tick_stop;
    bool ticking = false;
    std::thread ticker;

    Impl(const Router& r, const ServerSettings& s, spdlog::logger& l)
        : router(r),
          settings(s),
          log(l),
          pool(s.worker_threads, static_cast<std::size_t>(s.max_queued_requests)) {}

    // A stream answer's state (MHD's content-reader closure).
    struct StreamLink {
        Impl* server = nullptr;
        std::shared_ptr<StreamWaker> waker;
        std::shared_ptr<BodyStream> body;
        std::string pending;
        std::size_t offset = 0;
    };

    // --- the connection clocks ---

    ConnectionClock* clock_of(MHD_Connection* connection) {
        const MHD_ConnectionInfo* info =
            MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        return info == nullptr ? nullptr : static_cast<ConnectionClock*>(info->socket_context);
    }

    void enter(MHD_Connection* connection, ConnectionClock::Phase phase, bool answered = false) {
        ConnectionClock* clock = clock_of(connection);
        if (clock == nullptr) {
            return;
        }
        std::lock_guard lock(registry_mutex);
        clock->phase = phase;
        clock->since = Clock::now();
        clock->answered += answered ? 1 : 0;
    }

    static void on_connection(void* cls, MHD_Connection* connection, void** socket_context,
                              MHD_ConnectionNotificationCode code) {
        auto& self = *static_cast<Impl*>(cls);
        if (code == MHD_CONNECTION_NOTIFY_STARTED) {
            auto* clock = new ConnectionClock();
            if (const auto* fd =
                    MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD)) {
                clock->fd = fd->connect_fd;
            }
            if (const auto* addr =
                    MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS)) {
                clock->address = address_text(addr->client_addr);
            }
            std::lock_guard lock(self.registry_mutex);
            self.clocks.insert(clock);
            *socket_context = clock;
            return;
        }
        auto* clock = static_cast<ConnectionClock*>(*socket_context);
        if (clock != nullptr) {
            std::lock_guard lock(self.registry_mutex);
            self.clocks.erase(clock);
        }
        delete clock;
        *socket_context = nullptr;
    }

    // --- requests ---

    static MHD_Result on_request(void* cls, MHD_Connection* connection, const char* url,
                                 const char* method, const char*, const char* upload_data,
                                 std::size_t* upload_size, void** per_request) {
        auto& self = *static_cast<Impl*>(cls);
        auto* exchange = static_cast<Exchange*>(*per_request);
        if (exchange == nullptr) {
            exchange = new Exchange();
            *per_request = exchange;
            self.begin(*exchange, connection, url, method);
            return MHD_YES;
        }
        if (*upload_size > 0) {
            self.take_body(*exchange, upload_data, *upload_size);
            *upload_size = 0;
            return MHD_YES;
        }
        std::unique_lock lock(exchange->mutex);
        switch (exchange->state) {
            case Exchange::State::receiving:
                lock.unlock();
                return self.dispatch(*exchange);
            case Exchange::State::answered:
                exchange->state = Exchange::State::queued;
                return self.queue(connection, exchange->response);
            case Exchange::State::working:
            case Exchange::State::queued:
                return MHD_YES;
        }
        return MHD_YES;
    }

    void begin(Exchange& exchange, MHD_Connection* connection, const char* url,
               const char* method) {
        enter(connection, ConnectionClock::Phase::body);
        exchange.connection = connection;
        Request& req = exchange.request;
        req.method = method;
        req.path = url;
        MHD_get_connection_values(connection, MHD_HEADER_KIND, collect_header, &req.headers);
        MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, collect_param, &req.params);
        if (ConnectionClock* clock = clock_of(connection)) {
            req.remote_addr = clock->address;
        }
        std::string length = req.get_header_value("Content-Length");
        if (!length.empty() && std::strtoull(length.c_str(), nullptr, 10) > body_limit()) {
            exchange.too_large = true;
        }
    }

    // Bodies beyond this are not kept; json_body() refuses those beyond the configured limit
    // (naming it), this the ones too large to hold at all. Both answer 400 (invalid_input).
    std::size_t body_limit() const { return settings.max_body_bytes * 2; }

    // An oversized body is read and dropped, and refused at its end: a client that is still
    // sending would not read an earlier answer (and the body deadline bounds the reading).
    void take_body(Exchange& exchange, const char* data, std::size_t size) {
        if (exchange.too_large) {
            return;
        }
        if (exchange.request.body.size() + size > body_limit()) {
            exchange.too_large = true;
            std::string().swap(exchange.request.body);
            return;
        }
        exchange.request.body.append(data, size);
    }

    ApiError body_too_large() const {
        return ApiError(
            ErrorCode::invalid_input, "body-too-large",
            "the request body is larger than " + std::to_string(body_limit()) + " bytes",
            "a change file is at most 1 MiB");
    }

    MHD_Result queue_refusal(Exchange& exchange, const Error& error) {
        Response res;
        send_error(res, error);
        std::lock_guard lock(exchange.mutex);
        exchange.state = Exchange::State::queued;
        return queue(exchange.connection, res);
    }

    MHD_Result dispatch(Exchange& exchange) {
        enter(exchange.connection, ConnectionClock::Phase::handling);
        if (exchange.too_large) {
            return queue_refusal(exchange, body_too_large());
        }
        Request& req = exchange.request;
        const Router::Route* route = router.find(req.method, req.path, req.matches);
        if (route == nullptr) {
            Response res;
            answer_no_route(req, res);
            std::lock_guard lock(exchange.mutex);
            exchange.state = Exchange::State::queued;
            return queue(exchange.connection, res);
        }
        if (route->dispatch == Dispatch::immediate) {
            Response res;
            run(*route, req, res);
            std::lock_guard lock(exchange.mutex);
            exchange.state = Exchange::State::queued;
            return queue(exchange.connection, res);
        }
        // The worker resumes the connection under the exchange's mutex, so it cannot do that
        // before the connection is suspended here.
        std::lock_guard lock(exchange.mutex);
        bool taken = pool.try_submit([this, &exchange, route] {
            Response res;
            run(*route, exchange.request, res);
            std::lock_guard done(exchange.mutex);
            exchange.response = std::move(res);
            exchange.state = Exchange::State::answered;
            --suspended;
            MHD_resume_connection(exchange.connection);
        });
        if (!taken) {
            Response res;
            send_error(res, Error(ErrorCode::busy, "the server has too many requests in progress",
                                  "try again in a moment"));
            exchange.state = Exchange::State::queued;
            return queue(exchange.connection, res);
        }
        exchange.state = Exchange::State::working;
        ++suspended;
        MHD_suspend_connection(exchange.connection);
        return MHD_YES;
    }

    // Runs a handler and tells the router's observer; whatever the handler throws becomes the one
    // JSON error answer.
    void run(const Router::Route& route, const Request& req, Response& res) {
        auto started = Clock::now();
        answer_route(route, req, res, log);
        if (router.observer()) {
            router.observer()(req, res, Clock::now() - started);
        }
    }

    static void on_completed(void* cls, MHD_Connection* connection, void** per_request,
                             MHD_RequestTerminationCode) {
        auto& self = *static_cast<Impl*>(cls);
        delete static_cast<Exchange*>(*per_request);
        *per_request = nullptr;
        // A kept-alive connection's next request has header_timeout from now.
        self.enter(connection, ConnectionClock::Phase::headers, true);
    }

    // --- answers ---

    MHD_Result queue(MHD_Connection* connection, Response& res) {
        MHD_Response* answer = nullptr;
        if (res.stream) {
            answer = stream_answer(connection, res);
        } else {
            answer = MHD_create_response_from_buffer(
                res.body.size(), const_cast<char*>(res.body.data()), MHD_RESPMEM_MUST_COPY);
        }
        if (answer == nullptr) {
            return MHD_NO;
        }
        for (const auto& [name, value] : res.headers) {
            MHD_add_response_header(answer, name.c_str(), value.c_str());
        }
        MHD_Result queued =
            MHD_queue_response(connection, static_cast<unsigned int>(res.status), answer);
        MHD_destroy_response(answer);
        return queued;
    }

    MHD_Response* stream_answer(MHD_Connection* connection, Response& res) {
        auto waker = std::make_shared<StreamWaker>();
        waker->connection = connection;
        waker->idle = res.stream_idle;
        waker->suspended_count = &suspended;
        {
            std::lock_guard lock(registry_mutex);
            waker->stopping = stopping;
            streams.insert(waker);
        }
        auto* link = new StreamLink{this, waker, res.stream, {}, 0};
        res.stream->start([waker] { waker->wake(); });
        MHD_Response* answer = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, kStreamBlock,
                                                                 &read_stream, link, &free_stream);
        if (answer == nullptr) {
            free_stream(link);
        }
        return answer;
    }

    static ssize_t read_stream(void* cls, std::uint64_t, char* buf, std::size_t max) {
        auto& link = *static_cast<StreamLink*>(cls);
        auto copy_out = [&]() -> ssize_t {
            std::size_t n = std::min(max, link.pending.size() - link.offset);
            // NOLINTNEXTLINE(bugprone-not-null-terminated-result): body bytes, not a C string
            std::memcpy(buf, link.pending.data() + link.offset, n);
            link.offset += n;
            return static_cast<ssize_t>(n);
        };
        if (link.offset < link.pending.size()) {
            return copy_out();
        }
        link.pending.clear();
        link.offset = 0;
        StreamWaker& waker = *link.waker;
        {
            std::lock_guard lock(waker.mutex);
            if (waker.stopping) {
                return MHD_CONTENT_READER_END_OF_STREAM;
            }
            waker.woken = false;
        }
        BodyStream::Next next = BodyStream::Next::end;
        try {
            next = link.body->read(link.pending);
        } catch (const std::exception& e) {
            link.server->log.error("stream ended by an internal error: {}", e.what());
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        if (next == BodyStream::Next::end) {
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        if (next == BodyStream::Next::data && !link.pending.empty()) {
            return copy_out();
        }
        link.pending.clear();
        std::lock_guard lock(waker.mutex);
        if (waker.woken || waker.stopping) {
            return 0;  // MHD asks again at once
        }
        waker.suspended = true;
        waker.since = Clock::now();
        ++*waker.suspended_count;
        MHD_suspend_connection(waker.connection);
        return 0;
    }

    static void free_stream(void* cls) {
        auto* link = static_cast<StreamLink*>(cls);
        {
            std::lock_guard lock(link->waker->mutex);
            link->waker->gone = true;
        }
        {
            std::lock_guard lock(link->server->registry_mutex);
            link->server->streams.erase(link->waker);
        }
        delete link;  // the stream ends here (its producer forgets it)
    }

    // --- the ticker: deadlines and idle streams ---

    void tick() {
        std::unique_lock lock(tick_mutex);
        while (ticking) {
            tick_stop.wait_for(lock, kTick);
            lock.unlock();
            cut_late_connections();
            wake_idle_streams();
            lock.lock();
        }
    }

    void cut_late_connections() {
        auto now = Clock::now();
        std::lock_guard lock(registry_mutex);
        for (ConnectionClock* clock : clocks) {
            if (clock->cut || clock->phase == ConnectionClock::Phase::handling) {
                continue;
            }
            bool headers = clock->phase == ConnectionClock::Phase::headers;
            if (now - clock->since <= (headers ? settings.header_timeout : settings.body_timeout)) {
                continue;
            }
            // Said before it happens, so the log holds it once the client sees the close. A
            // kept-alive connection that asks nothing more is ordinary, not news.
            if (!headers || clock->answered == 0) {
                log.info("closed a connection from {}: its request {} did not arrive in time",
                         clock->address, headers ? "headers" : "body");
            }
            ::shutdown(clock->fd, SHUT_RDWR);
            clock->cut = true;
        }
    }

    // A copy, so that no MHD call is made under the registry mutex (MHD's own locks come after
    // a stream's, never after the registry's).
    std::vector<std::shared_ptr<StreamWaker>> open_streams() {
        std::lock_guard lock(registry_mutex);
        return {streams.begin(), streams.end()};
    }

    void wake_idle_streams() {
        auto now = Clock::now();
        for (const auto& waker : open_streams()) {
            std::lock_guard lock(waker->mutex);
            if (!waker->gone && waker->suspended && now - waker->since >= waker->idle) {
                waker->resume();
            }
        }
    }

    // --- lifetime ---

    static void log_from_mhd(void* cls, const char* format, va_list args) {
        char text[512];
        std::vsnprintf(text, sizeof text, format, args);
        std::string line(text);
        while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
            line.pop_back();
        }
        // Most of libmicrohttpd's messages are one client going away, which is ordinary; a
        // limit reached is worth an operator's attention.
        auto level =
            line.find("limit") != std::string::npos ? spdlog::level::warn : spdlog::level::debug;
        static_cast<Impl*>(cls)->log.log(level, "http: {}", line);
    }

    int start() {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
        addrinfo* found = nullptr;
        std::string where = settings.listen + ":" + std::to_string(settings.port);
        if (::getaddrinfo(settings.listen.c_str(), std::to_string(settings.port).c_str(), &hints,
                          &found) != 0 ||
            found == nullptr) {
            throw Error(ErrorCode::config, "cannot listen on " + where + ": unknown address",
                        "set [server] listen to an address of this host");
        }
        unsigned int flags =
            MHD_USE_AUTO_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
        if (found->ai_family == AF_INET6) {
            flags |= MHD_USE_IPv6;
        }
        daemon = MHD_start_daemon(
            flags, static_cast<std::uint16_t>(settings.port), nullptr, nullptr, &on_request, this,
            MHD_OPTION_EXTERNAL_LOGGER, &log_from_mhd, this,  // first, to catch every message
            MHD_OPTION_SOCK_ADDR, found->ai_addr,             //
            MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,            //
            MHD_OPTION_CONNECTION_LIMIT, static_cast<unsigned int>(settings.max_connections),
            MHD_OPTION_PER_IP_CONNECTION_LIMIT,
            static_cast<unsigned int>(settings.max_connections_per_address),
            // Silence: no byte in either direction for this long (a peer that stopped reading).
            MHD_OPTION_CONNECTION_TIMEOUT, whole_seconds(settings.body_timeout),
            MHD_OPTION_NOTIFY_COMPLETED, &on_completed, this,    //
            MHD_OPTION_NOTIFY_CONNECTION, &on_connection, this,  //
            MHD_OPTION_END);
        ::freeaddrinfo(found);
        if (daemon == nullptr) {
            throw Error(ErrorCode::config, "cannot listen on " + where,
                        "another process may hold the port; change [server] port");
        }
        const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
        int port = info == nullptr ? settings.port : info->port;
        {
            std::lock_guard lock(tick_mutex);
            ticking = true;
        }
        ticker = std::thread([this] { tick(); });
        return port;
    }

    void stop() {
        if (daemon == nullptr) {
            return;
        }
        MHD_socket listener = MHD_quiesce_daemon(daemon);
        if (listener != MHD_INVALID_SOCKET) {
            ::close(listener);
        }
        // Running handlers finish and answer; then every stream ends at its next read.
        pool.finish();
        {
            std::lock_guard lock(registry_mutex);
            stopping = true;
        }
        for (const auto& waker : open_streams()) {
            std::lock_guard lock(waker->mutex);
            waker->stopping = true;
            if (!waker->gone && waker->suspended) {
                waker->resume();
            }
        }
        // MHD must not be stopped with a suspended connection.
        auto deadline = Clock::now() + kStopGrace;
        while (suspended > 0 && Clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        {
            std::lock_guard lock(tick_mutex);
            ticking = false;
        }
        tick_stop.notify_all();
        if (ticker.joinable()) {
            ticker.join();
        }
        MHD_stop_daemon(daemon);
        daemon = nullptr;
    }
};

HttpServer::HttpServer(const Router& router, const ServerSettings& settings, spdlog::logger& log)
    : impl_(std::make_unique<Impl>(router, settings, log)) {}

HttpServer::~HttpServer() {
    stop();
}

int HttpServer::start() {
    return impl_->start();
}

void HttpServer::stop() {
    impl_->stop();
}

}  // namespace datafix::server
