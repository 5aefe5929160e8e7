// The HTTP interface the routes see: a request (method, path, the route pattern's groups, headers,
// query parameters, body) and a response (status, headers, a body, or a stream that goes on for
// as long as the client listens), and the router that maps method and path to a handler. Only
// http_server.cpp knows the HTTP library behind it; route code never includes it.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace datafix::server {

// Header names compare without regard to case, as HTTP says.
struct CaseInsensitiveLess {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const;
};
using Headers = std::multimap<std::string, std::string, CaseInsensitiveLess>;
using Params = std::multimap<std::string, std::string, std::less<>>;

struct Request {
    std::string method;
    std::string path;  // without the query string, percent-decoded
    // matches[0] is the whole path, matches[n] the route pattern's n-th group.
    std::vector<std::string> matches;
    Headers headers;
    Params params;  // the query string, decoded
    std::string body;
    std::string remote_addr;

    // The first value of a header or query parameter; "" when absent.
    std::string get_header_value(std::string_view name) const;
    bool has_param(std::string_view name) const;
    std::string get_param_value(std::string_view name) const;
};

// The body of an answer that goes on (server-sent events). The server calls read() on its event
// thread whenever the client can take more, so read() must never block: it appends what is ready
// and says whether there is more to come. While it has nothing, the connection sleeps without a
// thread until the stream calls the wake function it was given, or the stream's idle interval
// passes (read() may then send a keep-alive). Destroyed when the client goes away or the stream
// ends.
class BodyStream {
  public:
    enum class Next {
        data,  // `out` holds the next bytes
        wait,  // nothing yet
        end,   // the stream is over
    };
    virtual ~BodyStream() = default;
    // Called once before the first read(). `wake` may be called from any thread, at any time,
    // also after the stream was destroyed.
    virtual void start(std::function<void()> wake) = 0;
    virtual Next read(std::string& out) = 0;
};

struct Response {
    int status = 200;
    Headers headers;
    std::string body;
    std::shared_ptr<BodyStream> stream;  // when set, the body is streamed (chunked)
    std::chrono::milliseconds stream_idle{0};

    void set_header(std::string name, std::string value);
    void set_content(std::string content, std::string content_type);
    // `idle`: after this long without a wake, read() is called anyway.
    void set_stream(std::string content_type, std::shared_ptr<BodyStream> body,
                    std::chrono::milliseconds idle);
};

using Handler = std::function<void(const Request&, Response&)>;

// Where a handler runs. On a worker (the default): it may block on the ledger, a database or a
// file, while the connection waits without holding the event thread. Immediately on the event
// thread: only for answers that never block (a constant, a compiled-in page).
enum class Dispatch { worker, immediate };

class Router {
  public:
    struct Route {
        std::string method;
        std::regex pattern;
        Handler handler;
        Dispatch dispatch = Dispatch::worker;
    };

    // `pattern` must match the whole path; its groups become Request::matches.
    void Get(const std::string& pattern, Handler handler, Dispatch dispatch = Dispatch::worker);
    void Post(const std::string& pattern, Handler handler, Dispatch dispatch = Dispatch::worker);

    // The route for `method` (HEAD finds GET's) and `path`, with the groups; none: 404.
    const Route* find(std::string_view method, const std::string& path,
                      std::vector<std::string>& matches) const;

    // Told of every answer a route gave and how long its handler took (for /metrics). Set once,
    // before the server starts; called on the thread that ran the handler.
    using Observer =
        std::function<void(const Request&, const Response&, std::chrono::steady_clock::duration)>;
    void set_observer(Observer observer) { observer_ = std::move(observer); }
    const Observer& observer() const { return observer_; }

  private:
    std::vector<Route> routes_;
    Observer observer_;
};

}  // namespace datafix::server
