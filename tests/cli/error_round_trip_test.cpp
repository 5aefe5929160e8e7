// Every code of the error catalog (walked from core's kLastErrorCode) survives the trip a refusal
// makes: the server's answer names it ({"error": code_name}), the CLI reads the name back to the
// same code (code_from_name) and exits with that code's status. A name the CLI does not know is
// internal, never a success. And the binary itself exits with the catalog's status: 13 when the
// server cannot be reached, 11 without a token.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli/client.hpp"
#include "core/error.hpp"
#include "run_datafix.hpp"
#include "server/api_error.hpp"

namespace datafix::cli {
namespace {

TEST(ErrorRoundTrip, EveryCodeNamedByTheServerIsReadBackToItself) {
    for (int i = 0; i <= static_cast<int>(kLastErrorCode); ++i) {
        const auto code = static_cast<ErrorCode>(i);
        SCOPED_TRACE(std::string(code_name(code)));
        const nlohmann::json body =
            server::error_body(Error(code, "a message", "a hint"), "some-rule", nullptr);
        ASSERT_TRUE(body["error"].is_string());
        EXPECT_EQ(code_from_name(body["error"].get<std::string>()), code);
        EXPECT_EQ(body["rule"], "some-rule");
        EXPECT_EQ(body["message"], "a message");
        EXPECT_EQ(body["hint"], "a hint");
        // The server's status for it is the catalog's.
        server::Response res;
        server::send_error(res, Error(code, "a message"));
        EXPECT_EQ(res.status, http_status(code));
        EXPECT_EQ(code_from_name(nlohmann::json::parse(res.body)["error"].get<std::string>()),
                  code);
    }
}

TEST(ErrorRoundTrip, AnUnknownNameIsInternal) {
    EXPECT_EQ(code_from_name("no_such_code"), ErrorCode::internal);
    EXPECT_EQ(code_from_name(""), ErrorCode::internal);
    EXPECT_EQ(code_from_name("Rule"), ErrorCode::internal) << "names are exact";
}

// The binary run with a home of its own and no token or server in the environment; the test
// process's environment is put back afterwards.
class DatafixEnvironment : public ::testing::Test {
  protected:
    void SetUp() override {
        home = std::filesystem::temp_directory_path() / "datafix-cli-errors-home";
        std::filesystem::create_directories(home);
        for (const char* name : kNames) {
            const char* value = std::getenv(name);
            saved.emplace_back(name, value ? std::optional<std::string>(value) : std::nullopt);
        }
        ::setenv("HOME", home.c_str(), 1);
        ::setenv("XDG_CONFIG_HOME", home.c_str(), 1);
        ::unsetenv("DATAFIX_TOKEN");
        ::unsetenv("DATAFIX_SERVER");
    }
    void TearDown() override {
        for (const auto& [name, value] : saved) {
            if (value) {
                ::setenv(name.c_str(), value->c_str(), 1);
            } else {
                ::unsetenv(name.c_str());
            }
        }
        std::filesystem::remove_all(home);
    }
    static constexpr const char* kNames[] = {"HOME", "XDG_CONFIG_HOME", "DATAFIX_TOKEN",
                                             "DATAFIX_SERVER"};
    std::filesystem::path home;
    std::vector<std::pair<std::string, std::optional<std::string>>> saved;
};

TEST_F(DatafixEnvironment, TheBinaryExitsWithTheCatalogsStatus) {
    // Port 9 (discard) on loopback: nothing listens.
    testing::CommandRun unreachable =
        testing::run_datafix("list --server http://127.0.0.1:9 --output json");
    // Without a token it stops before connecting: unauthenticated.
    EXPECT_EQ(unreachable.status, exit_status(ErrorCode::unauthenticated)) << unreachable.out;
    EXPECT_NE(unreachable.out.find("DATAFIX_TOKEN"), std::string::npos) << unreachable.out;

    ::setenv("DATAFIX_TOKEN", "dfx_not-a-real-token", 1);
    testing::CommandRun refused = testing::run_datafix("list --server http://127.0.0.1:9");
    EXPECT_EQ(refused.status, exit_status(ErrorCode::unreachable)) << refused.out;
    EXPECT_NE(refused.out.find("HINT: "), std::string::npos) << refused.out;
}

}  // namespace
}  // namespace datafix::cli
