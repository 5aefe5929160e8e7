// Peers and fixtures shared by the delivery tests: a free loopback port, aiosmtpd (Debian's
// python3-aiosmtpd, run by the system python) writing each received mail to a maildir, a
// temporary directory, an email channel to that peer, and the canary literals of a change.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "notify/channels.hpp"

namespace datafix::notify {

using namespace std::chrono_literals;

inline int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

inline bool accepts_connections(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

inline std::string slurp(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// aiosmtpd with its Mailbox handler: every accepted message becomes a file in <maildir>/new.
class SmtpPeer {
  public:
    SmtpPeer(int port, std::string maildir) : port_(port), maildir_(std::move(maildir)) {}
    ~SmtpPeer() { stop(); }
    SmtpPeer(const SmtpPeer&) = delete;
    SmtpPeer& operator=(const SmtpPeer&) = delete;

    void start() {
        const std::string listen = "127.0.0.1:" + std::to_string(port_);
        pid_ = ::fork();
        if (pid_ == 0) {
            ::execl("/usr/bin/python3", "python3", "-m", "aiosmtpd", "-n", "-l", listen.c_str(),
                    "-c", "aiosmtpd.handlers.Mailbox", maildir_.c_str(),
                    static_cast<char*>(nullptr));
            ::_exit(127);
        }
        for (int i = 0; i < 200 && !accepts_connections(port_); ++i) {
            std::this_thread::sleep_for(25ms);
        }
        ASSERT_TRUE(accepts_connections(port_)) << "aiosmtpd did not start (python3-aiosmtpd)";
    }
    void stop() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            ::waitpid(pid_, nullptr, 0);
            pid_ = -1;
        }
    }
    std::vector<std::string> received() const {
        std::vector<std::string> mails;
        const auto dir = std::filesystem::path(maildir_) / "new";
        if (std::filesystem::exists(dir)) {
            for (const auto& e : std::filesystem::directory_iterator(dir)) {
                mails.push_back(slurp(e.path()));
            }
        }
        return mails;
    }

  private:
    int port_;
    std::string maildir_;
    pid_t pid_ = -1;
};

class TempDir {
  public:
    TempDir() {
        std::string t = "/tmp/datafix-notify-test-XXXXXX";
        path_ = ::mkdtemp(t.data());
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

inline ChannelConfig email_channel(int port, StartTls starttls = StartTls::none) {
    ChannelConfig c;
    c.name = "mail";
    c.kind = ChannelKind::email;
    c.smtp.url = "smtp://127.0.0.1:" + std::to_string(port);
    c.smtp.from = "datafix@example.com";
    c.smtp.starttls = starttls;
    c.timeout = 5s;
    return c;
}

// Canary literals: values a change carries that must never leave datafix.
inline const std::vector<std::string> kCanaries = {"canary-7f3a9@example.com", "Canarygiven",
                                                   "canary-intake-4711", "8675309"};

// A change holding every canary, as a driver would attach it.
inline const std::string kCanaryChange =
    "UPDATE app_public.app_user SET email = 'canary-7f3a9@example.com', "
    "given_name = 'Canarygiven' WHERE id = 8675309;\n"
    "DELETE FROM app_public.intake WHERE description = 'canary-intake-4711';\n";

}  // namespace datafix::notify
