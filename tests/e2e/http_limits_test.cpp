// The server against clients that would stop it: headers or a body dripped in byte by byte, more
// live event streams than a person or the server may hold, many connections from one address,
// oversized bodies, more requests than workers. Each refusal is checked for what the client is
// told, and the server is checked to go on answering everyone else.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <thread>

#include "e2e/runbook_steps.hpp"

namespace datafix::e2e {

namespace {

using namespace std::chrono_literals;

// A TCP connection to the server that the test drives byte by byte.
class RawConnection {
  public:
    explicit RawConnection(const std::string& url) {
        auto colon = url.rfind(':');
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<std::uint16_t>(std::stoi(url.substr(colon + 1))));
        ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            throw std::runtime_error("cannot connect to " + url);
        }
    }
    ~RawConnection() { ::close(fd_); }
    RawConnection(const RawConnection&) = delete;
    RawConnection& operator=(const RawConnection&) = delete;

    // False when the server has closed the connection.
    bool send(std::string_view bytes) {
        return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
               static_cast<ssize_t>(bytes.size());
    }

    // Reads until `marker` is in what arrived, the server closes, or `wait` passes.
    bool read_until(std::string_view marker, std::chrono::milliseconds wait) {
        auto deadline = std::chrono::steady_clock::now() + wait;
        while (received_.find(marker) == std::string::npos) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0 || !receive(left)) {
                return received_.find(marker) != std::string::npos;
            }
        }
        return true;
    }

    // True when the server closes the connection (end of stream or reset) within `wait`.
    bool closed_within(std::chrono::milliseconds wait) {
        auto deadline = std::chrono::steady_clock::now() + wait;
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                return false;
            }
            if (!receive(left)) {
                return closed_;
            }
        }
    }

    const std::string& received() const { return received_; }

  private:
    // One read; false when nothing came in `wait` or the connection ended.
    bool receive(std::chrono::milliseconds wait) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0) {
            return false;
        }
        char buf[4096];
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) {
            closed_ = true;
            return false;
        }
        received_.append(buf, static_cast<std::size_t>(n));
        return true;
    }

    int fd_ = -1;
    std::string received_;
    bool closed_ = false;
};

std::string events_request(long long n, const std::string& token) {
    return "GET " + req(n, "/events") + " HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " +
           token + "\r\n\r\n";
}

// A live stream of request `n` for `token`, open once its first event arrived.
std::unique_ptr<RawConnection> open_stream(ServerFixture& s, long long n,
                                           const std::string& token) {
    auto c = std::make_unique<RawConnection>(s.url());
    EXPECT_TRUE(c->send(events_request(n, token)));
    EXPECT_TRUE(c->read_until("event: watching", 10s)) << c->received();
    return c;
}

ServerOptions with_server(const std::string& settings) {
    ServerOptions options;
    options.server_settings = settings;
    return options;
}

}  // namespace

TEST(HttpLimits, HeadersDrippedInByteByByteAreCutOffAtTheHeaderTimeout) {
    ServerFixture s(with_server("header_timeout = \"2s\"\n"));
    RawConnection slow(s.url());
    ASSERT_TRUE(slow.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: "));
    // A byte every 200 ms is never silent for long, so only the header deadline can end it (the
    // bound of the loop is a guard against a hang, not a timing claim).
    bool closed = false;
    for (int i = 0; i < 300 && !closed; ++i) {
        closed = !slow.send("x") || slow.closed_within(200ms);
    }
    EXPECT_TRUE(closed) << "the connection was never closed";
    EXPECT_EQ(slow.received().find("HTTP/1.1 200"), std::string::npos) << slow.received();
    EXPECT_NE(s.server_log().find("its request headers did not arrive in time"), std::string::npos)
        << s.server_log();
    // Everyone else is served as before.
    EXPECT_EQ(s.get("", "/healthz").status, 200);
}

TEST(HttpLimits, ABodyDrippedInByteByByteIsCutOffAtTheBodyTimeout) {
    ServerFixture s(with_server("body_timeout = \"2s\"\n"));
    Team t = make_team(s);
    RawConnection slow(s.url());
    ASSERT_TRUE(
        slow.send("POST /api/requests HTTP/1.1\r\nHost: localhost\r\nAuthorization: "
                  "Bearer " +
                  t.po + "\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n" +
                  "\r\n{\"title\": \"slow\", \"reason\": \""));
    bool closed = false;
    for (int i = 0; i < 300 && !closed; ++i) {
        closed = !slow.send("x") || slow.closed_within(200ms);
    }
    EXPECT_TRUE(closed) << "the connection was never closed";
    EXPECT_EQ(slow.received(), "");
    EXPECT_NE(s.server_log().find("its request body did not arrive in time"), std::string::npos)
        << s.server_log();
    // Nothing was filed.
    Answer list = s.get(t.po, "/api/requests");
    ASSERT_EQ(list.status, 200);
    EXPECT_TRUE(list.body["requests"].empty()) << list.body.dump();
}

TEST(HttpLimits, APersonOverTheStreamCapIsRefusedClearly) {
    ServerFixture s(with_server("max_streams = 3\nmax_streams_per_person = 2\n"));
    Team t = make_team(s);
    long long n = file_request(s, t);
    auto first = open_stream(s, n, t.sam);
    auto second = open_stream(s, n, t.sam);

    Answer third = s.get(t.sam, req(n, "/events"));
    EXPECT_EQ(third.status, 429) << third.body.dump();
    EXPECT_EQ(third.body["error"], "too_many");
    EXPECT_EQ(third.body["rule"], "streams-per-person");
    EXPECT_EQ(third.body["message"],
              "you have 2 live event streams open, the most one person may have");
    EXPECT_FALSE(third.body["hint"].get<std::string>().empty());
    // The CLI says the same, with its own exit status.
    auto watch = s.cli(t.sam, {"watch", std::to_string(n)});
    EXPECT_EQ(watch.status, 18) << watch.out << watch.err;
    EXPECT_NE(watch.err.find("live event streams open"), std::string::npos) << watch.err;

    // Someone else still may watch, up to the server's cap; beyond it, 503.
    auto other = open_stream(s, n, t.dana);
    Answer full = s.get(t.po, req(n, "/events"));
    EXPECT_EQ(full.status, 503) << full.body.dump();
    EXPECT_EQ(full.body["error"], "busy");
    EXPECT_EQ(full.body["rule"], "streams-full");
    EXPECT_FALSE(full.body["hint"].get<std::string>().empty());

    // The streams that were admitted carry the steps.
    ASSERT_EQ(s.post(t.dana, req(n, "/claim"), {}).status, 200);
    for (auto* c : {first.get(), second.get(), other.get()}) {
        EXPECT_TRUE(c->read_until("\"step\":\"claim\"", 10s)) << c->received();
    }

    // A watcher who leaves frees their place once the server notices (at the stream's next
    // keep-alive); the bound is a guard against a hang.
    first.reset();
    bool admitted = false;
    for (int i = 0; i < 60 && !admitted; ++i) {
        RawConnection again(s.url());
        ASSERT_TRUE(again.send(events_request(n, t.sam)));
        ASSERT_TRUE(again.read_until("\r\n\r\n", 10s)) << again.received();
        admitted = again.received().starts_with("HTTP/1.1 200");
        if (!admitted) {
            EXPECT_TRUE(again.received().starts_with("HTTP/1.1 429")) << again.received();
            std::this_thread::sleep_for(500ms);
        }
    }
    EXPECT_TRUE(admitted);
}

TEST(HttpLimits, HealthAndTheApiAnswerWhileManyStreamsAreOpen) {
    // More streams than the server has workers (32 by default): a stream must not hold one.
    ServerFixture s(
        with_server("max_streams_per_person = 1000\nmax_connections_per_address = 1000\n"));
    Team t = make_team(s);
    long long n = file_request(s, t);
    std::vector<std::unique_ptr<RawConnection>> streams;
    for (int i = 0; i < 150; ++i) {
        streams.push_back(open_stream(s, n, t.sam));
    }
    Answer health = s.get("", "/healthz");
    EXPECT_EQ(health.status, 200);
    EXPECT_EQ(health.body["status"], "ok");
    Answer state = s.get(t.po, req(n));
    EXPECT_EQ(state.status, 200) << state.body.dump();
    EXPECT_EQ(s.post(t.dana, req(n, "/claim"), {}).status, 200);
    // And every stream hears the step.
    for (auto& c : streams) {
        EXPECT_TRUE(c->read_until("\"step\":\"claim\"", 10s)) << c->received();
    }
}

TEST(HttpLimits, ConnectionsFromOneAddressAreBounded) {
    ServerFixture s(with_server("max_connections_per_address = 4\n"));
    std::vector<std::unique_ptr<RawConnection>> kept;
    for (int i = 0; i < 4; ++i) {
        // Answered and kept alive: the server holds the connection.
        kept.push_back(std::make_unique<RawConnection>(s.url()));
        ASSERT_TRUE(kept.back()->send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"));
        ASSERT_TRUE(kept.back()->read_until("\"status\":\"ok\"", 10s)) << kept.back()->received();
    }
    RawConnection fifth(s.url());
    fifth.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
    EXPECT_TRUE(fifth.closed_within(10s));
    EXPECT_TRUE(fifth.received().empty()) << fifth.received();
    kept.clear();
    // Once they are gone, the address is served again (after the server saw them close).
    bool served = false;
    for (int i = 0; i < 50 && !served; ++i) {
        served = s.get("", "/healthz").status == 200;
        if (!served) {
            std::this_thread::sleep_for(100ms);
        }
    }
    EXPECT_TRUE(served);
}

// A "database" that takes connections and never answers, until the test lets go: whatever
// connects to it waits (a pre-flight there holds its worker).
class SilentDatabase {
  public:
    SilentDatabase() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
        socklen_t len = sizeof addr;
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd_, 64) != 0) {
            throw std::runtime_error("cannot listen");
        }
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
    }
    ~SilentDatabase() { let_go(); }
    int port() const { return port_; }

    // Accepts (and holds) connections until `count` are held; the bound guards against a hang.
    std::size_t hold(std::size_t count) {
        for (int i = 0; i < 600 && held_.size() < count; ++i) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 100) > 0) {
                held_.push_back(::accept(fd_, nullptr, nullptr));
            }
        }
        return held_.size();
    }
    // Closes everything: connections waiting on it fail at once.
    void let_go() {
        for (int fd : held_) {
            ::close(fd);
        }
        held_.clear();
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }

  private:
    int fd_ = -1;
    int port_ = 0;
    std::vector<int> held_;
};

TEST(HttpLimits, RequestsBeyondTheWorkersAndTheQueueAreRefusedAtOnce) {
    SilentDatabase database;
    ServerOptions options = with_server("worker_threads = 4\nmax_queued_requests = 2\n");
    std::string port = std::to_string(database.port());
    options.environments["dev"] = [port](const std::string& name) {
        return "conninfo = \"host=127.0.0.1 port=" + port + " dbname=" + name +
               " sslmode=disable connect_timeout=120\"\nrole = \"app_owner\"\n"
               "system_identifier = \"1\"\napprovals = [\"pair\"]\n";
    };
    ServerFixture s(options);
    Team t = make_team(s);
    long long n = file_request(s, t);
    prepare(s, t, n);

    // Four pre-flights on the four workers, each waiting for the database.
    std::vector<int> statuses(4, -1);
    std::vector<std::thread> callers;
    for (std::size_t i = 0; i < statuses.size(); ++i) {
        callers.emplace_back(
            [&, i] { statuses[i] = s.get(t.dana, env_path(n, "dev", "preflight")).status; });
    }
    std::size_t held = database.hold(4);
    // Every further request that needs a worker waits in the queue while there is room (two
    // places), and is refused at once after that: the third probe meets a full queue.
    std::vector<std::unique_ptr<RawConnection>> probes;
    bool refused = false;
    for (int i = 0; i < 3 && held == 4 && !refused; ++i) {
        probes.push_back(std::make_unique<RawConnection>(s.url()));
        EXPECT_TRUE(
            probes.back()->send("GET /api/me HTTP/1.1\r\nHost: localhost\r\n"
                                "Authorization: Bearer " +
                                t.sam + "\r\n\r\n"));
        refused = probes.back()->read_until("\"busy\"", 2s);
        EXPECT_EQ(refused, i == 2) << i << ": " << probes.back()->received();
    }
    // The health check needs no worker.
    Answer health = s.get("", "/healthz");

    database.let_go();
    for (auto& c : callers) {
        c.join();
    }
    ASSERT_EQ(held, 4u) << "four workers should have been inside a pre-flight\n"
                        << statuses[0] << statuses[1] << statuses[2] << statuses[3] << "\n"
                        << s.server_log();
    ASSERT_TRUE(refused);
    const std::string& busy = probes.back()->received();
    EXPECT_TRUE(busy.starts_with("HTTP/1.1 503")) << busy;
    EXPECT_NE(busy.find("the server has too many requests in progress"), std::string::npos);
    EXPECT_EQ(health.status, 200);
    // The pre-flights failed once the database went away, and answered; the workers are free.
    for (int status : statuses) {
        EXPECT_GE(status, 400);
    }
    for (std::size_t i = 0; i + 1 < probes.size(); ++i) {
        EXPECT_TRUE(probes[i]->read_until("\"email\"", 10s)) << probes[i]->received();
    }
    EXPECT_EQ(s.get(t.sam, "/api/me").status, 200);
}

TEST(HttpLimits, OversizedBodiesAreRefusedAndChangeNothing) {
    ServerFixture s;  // max_body_bytes = 65536
    Team t = make_team(s);
    std::string big(200 * 1024, 'x');
    Answer huge =
        s.post_raw(t.po, "/api/requests", "{\"title\": \"t\", \"reason\": \"" + big + "\"}");
    EXPECT_EQ(huge.status, 400) << huge.body.dump();
    EXPECT_EQ(huge.body["error"], "invalid_input");
    EXPECT_EQ(huge.body["rule"], "body-too-large");
    EXPECT_EQ(huge.body["message"], "the request body is larger than 131072 bytes");
    std::string large(100 * 1024, 'x');
    Answer over =
        s.post_raw(t.po, "/api/requests", "{\"title\": \"t\", \"reason\": \"" + large + "\"}");
    EXPECT_EQ(over.status, 400) << over.body.dump();
    EXPECT_EQ(over.body["rule"], "body-too-large");
    EXPECT_NE(over.body["message"].get<std::string>().find("the limit is 65536"),
              std::string::npos);
    Answer list = s.get(t.po, "/api/requests");
    ASSERT_EQ(list.status, 200);
    EXPECT_TRUE(list.body["requests"].empty()) << list.body.dump();
    // An unknown route is a JSON 404 too.
    Answer none = s.get(t.po, "/api/nothing-here");
    EXPECT_EQ(none.status, 404);
    EXPECT_EQ(none.body["error"], "not_found");
}

}  // namespace datafix::e2e
