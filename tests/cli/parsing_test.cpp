// Each verb's command line as the CLI reads it (cli::parse_problem, the parser `datafix` runs):
// good arguments are accepted; a missing, mistyped or out-of-range argument is refused with a
// message naming it, and `datafix` exits 2 (usage) before talking to any server.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "cli/app.hpp"

namespace datafix::cli {
namespace {

using Words = std::vector<std::string>;

std::string example(const std::string& name) {
    return (std::filesystem::path(DATAFIX_SOURCE_DIR) / "examples" / name).string();
}

std::string joined(const Words& words) {
    std::string out;
    for (const auto& w : words) {
        out += (out.empty() ? "" : " ") + w;
    }
    return out;
}

// `datafix WORDS...` run in this process; its exit status.
int exit_status_of(Words words) {
    words.insert(words.begin(), "datafix");
    std::vector<char*> argv;
    for (std::string& w : words) {
        argv.push_back(w.data());
    }
    ::testing::internal::CaptureStderr();
    ::testing::internal::CaptureStdout();
    const int status = run(static_cast<int>(argv.size()), argv.data());
    ::testing::internal::GetCapturedStdout();
    ::testing::internal::GetCapturedStderr();
    return status;
}

TEST(CommandLine, EveryVerbAcceptsItsDocumentedArguments) {
    const std::vector<Words> good = {
        {"claim", "7"},
        {"release", "7"},
        {"handover", "7", "--to", "sam@example.com"},
        {"pair", "7"},
        {"show", "7", "--run", "2", "--images"},
        {"list", "--status", "done", "--output", "json"},
        {"request", "--title", "fix a name", "--reason", "asked by email", "--for",
         "pat@example.com", "--date", "2024-05-01", "--ticket", "https://tickets.example.com/1"},
        {"change", "7", "--change", example("change.sql"), "--verify", example("verify.sql"),
         "--expect", "1"},
        {"preview", "7", "dev"},
        {"apply", "7", "prod", "--evidence", std::string(64, 'f')},
        {"revert", "7", "test"},
        {"resolve", "7", "3"},
        {"approve", "7", "dev", "--evidence", std::string(64, 'f')},
        {"cancel", "7", "--reason", "not needed"},
        {"comment", "7", "--text", "please check application 4"},
        {"audit", "--request", "7", "--limit", "10"},
        {"audit", "verify"},
        {"users", "add", "--name", "Nia", "--email", "nia@example.com", "--role", "developer",
         "--scope", "read", "--days", "3"},
        {"users", "set-role", "nia@example.com", "none"},
        {"inbox"},
        {"check", example("change.sql")},
    };
    for (const Words& words : good) {
        EXPECT_EQ(parse_problem(words), "") << joined(words);
    }
}

struct BadLine {
    Words words;
    std::vector<std::string> named;  // what the message must name
};

TEST(CommandLine, BadArgumentsAreRefusedNamingWhatIsWrongWithStatus2) {
    const std::vector<BadLine> bad = {
        {{"claim"}, {"request", "required"}},
        {{"claim", "seven"}, {"seven"}},
        {{"claim", "7", "--frobnicate"}, {"--frobnicate"}},
        {{"handover", "7"}, {"--to", "required"}},
        {{"list", "--status", "pending"}, {"pending"}},
        {{"list", "--output", "yaml"}, {"yaml"}},
        {{"approve", "7"}, {"environment", "required"}},
        {{"resolve", "7"}, {"run", "required"}},
        {{"request", "--reason", "r"}, {"--title", "required"}},
        {{"change", "7", "--change", "/nonexistent/change.sql", "--expect", "1"},
         {"/nonexistent/change.sql"}},
        {{"change", "7", "--change", example("change.sql")}, {"--expect", "required"}},
        {{"users", "add", "--name", "N", "--email", "n@example.com", "--role", "boss"}, {"boss"}},
        {{"users", "add", "--name", "N", "--email", "n@example.com", "--role", "developer",
          "--days", "0"},
         {"--days"}},
        {{"users", "set-role", "n@example.com", "owner"}, {"owner"}},
        // Verbs: the one meant is named.
        {{"cliam", "7"}, {"unknown command 'datafix cliam'", "did you mean 'datafix claim'"}},
        {{"users", "rotate", "n@example.com"},
         {"unknown command 'datafix users rotate'", "datafix users rotate-token"}},
        {{}, {"subcommand"}},
    };
    for (const BadLine& line : bad) {
        SCOPED_TRACE(joined(line.words));
        const std::string problem = parse_problem(line.words);
        ASSERT_FALSE(problem.empty()) << "accepted";
        for (const std::string& named : line.named) {
            EXPECT_NE(problem.find(named), std::string::npos) << problem;
        }
        EXPECT_EQ(exit_status_of(line.words), 2);
    }
}

}  // namespace
}  // namespace datafix::cli
