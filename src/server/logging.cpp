// Text or JSON log lines. A JSON line is built with nlohmann::json, so a message with quotes,
// backslashes or control characters still yields one valid object per line.
#include "server/logging.hpp"

#include <spdlog/formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>

namespace datafix::server {

namespace {

// {"time":"2026-11-30T15:04:05.123Z","level":"info","logger":"datafix","message":"..."}
class JsonLineFormatter final : public spdlog::formatter {
  public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        nlohmann::json line;
        line["time"] = utc_time(msg.time);
        auto level = spdlog::level::to_string_view(msg.level);
        line["level"] = std::string(level.data(), level.size());
        line["logger"] = std::string(msg.logger_name.data(), msg.logger_name.size());
        line["message"] = std::string(msg.payload.data(), msg.payload.size());
        // Invalid UTF-8 is replaced rather than thrown on: a log line never stops the server.
        std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        text += '\n';
        dest.append(text.data(), text.data() + text.size());
    }

    std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<JsonLineFormatter>();
    }

  private:
    static std::string utc_time(spdlog::log_clock::time_point when) {
        auto since = when.time_since_epoch();
        auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since);
        auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since - seconds);
        std::time_t t = seconds.count();
        std::tm tm{};
        ::gmtime_r(&t, &tm);
        char text[40];
        std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
        std::snprintf(text + n, sizeof text - n, ".%03dZ", static_cast<int>(millis.count()));
        return text;
    }
};

}  // namespace

std::shared_ptr<spdlog::logger> make_server_logger(const ServerSettings& settings) {
    bool json = settings.log_format == LogFormat::json;
    std::shared_ptr<spdlog::logger> log;
    if (!settings.log_file.empty()) {
        log = spdlog::basic_logger_mt("datafix", settings.log_file);
    } else if (json) {
        log = spdlog::stderr_logger_mt("datafix");  // no colour codes inside the JSON
    } else {
        log = spdlog::stderr_color_mt("datafix");
    }
    if (json) {
        log->set_formatter(std::make_unique<JsonLineFormatter>());
    } else {
        log->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");
    }
    log->flush_on(spdlog::level::info);
    return log;
}

}  // namespace datafix::server
