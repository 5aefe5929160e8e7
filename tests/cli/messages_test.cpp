// Commands people can copy from datafix's own messages: a mistyped verb is answered with the
// verb that was meant, and every command a message in src/ or a workflow HINT names is one the
// command line registers.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "cli/app.hpp"
#include "workflow/scenario.hpp"

#include "run_datafix.hpp"

namespace {

using datafix::cli::testing::CommandRun;
using datafix::cli::testing::run_datafix;

bool is_verb(const std::string& verb) {
    static const std::vector<std::string> verbs = datafix::cli::command_names();
    return std::find(verbs.begin(), verbs.end(), verb) != verbs.end();
}

// The string literals of a C++ file, adjacent ones joined as the compiler joins them.
std::vector<std::string> literals_of(const std::string& code) {
    std::vector<std::string> out;
    bool joinable = false;
    for (std::size_t i = 0; i < code.size(); ++i) {
        const char c = code[i];
        if (c == '/' && i + 1 < code.size() && code[i + 1] == '/') {
            i = code.find('\n', i);
            if (i == std::string::npos) {
                break;
            }
            continue;
        }
        if (c == '\'') {
            i += code[i + 1] == '\\' ? 3 : 2;
            joinable = false;
            continue;
        }
        if (c == 'R' && i + 2 < code.size() && code[i + 1] == '"' && code[i + 2] == '(') {
            std::size_t end = code.find(")\"", i);
            out.push_back(code.substr(i + 3, end - i - 3));
            i = end + 1;
            joinable = false;
            continue;
        }
        if (c == '"') {
            std::string text;
            for (++i; i < code.size() && code[i] != '"'; ++i) {
                if (code[i] == '\\' && i + 1 < code.size()) {
                    text += code[++i] == 'n' ? '\n' : code[i];
                } else {
                    text += code[i];
                }
            }
            if (joinable && !out.empty()) {
                out.back() += text;
            } else {
                out.push_back(text);
            }
            joinable = true;
            continue;
        }
        if (c != ' ' && c != '\n' && c != '\t') {
            joinable = false;
        }
    }
    return out;
}

// The commands a text names: "datafix VERB" introduced as a command ("(datafix", "`datafix",
// ": datafix", "with datafix", "run datafix", "or datafix", "see datafix", or the start) and
// followed by what follows a command (its arguments or the end of the phrase), not by prose
// ("datafix runs plain SQL"). Nested verbs are read with their parent ("users list").
std::vector<std::string> commands_named(const std::string& text) {
    static const std::regex mention(
        R"((?:^|\(|`|: |with |run |or |see )datafix ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?(?=$|[)`;,.]| [0-9<"-]| [a-z]|\n))");
    std::vector<std::string> found;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), mention);
         it != std::sregex_iterator(); ++it) {
        const std::string verb = (*it)[1];
        const std::string nested = (*it)[2];
        if (!nested.empty() && is_verb(verb + " " + nested)) {
            found.push_back(verb + " " + nested);
            continue;
        }
        if (is_verb(verb)) {
            found.push_back(verb);
            continue;
        }
        // "datafix runs plain SQL": a word and then more words is a sentence about datafix.
        const std::size_t after = static_cast<std::size_t>(it->position(1) + it->length(1));
        if (after + 1 < text.size() && text[after] == ' ' &&
            std::isalpha(static_cast<unsigned char>(text[after + 1])) != 0) {
            continue;
        }
        found.push_back(verb);
    }
    return found;
}

}  // namespace

TEST(Messages, NestedVerbsAreListed) {
    EXPECT_TRUE(is_verb("approve-prod"));
    EXPECT_TRUE(is_verb("users rotate-token"));
    EXPECT_TRUE(is_verb("users set-role"));
    EXPECT_TRUE(is_verb("logout"));
    EXPECT_TRUE(is_verb("audit verify"));
    EXPECT_FALSE(is_verb("hand-over"));
    EXPECT_FALSE(is_verb("unpair"));
}

TEST(Messages, NearestVerb) {
    const std::vector<std::string> verbs = datafix::cli::command_names();
    EXPECT_EQ(datafix::cli::nearest_verb("aprove", verbs), "approve");
    EXPECT_EQ(datafix::cli::nearest_verb("hand-over", verbs), "handover");
    EXPECT_EQ(datafix::cli::nearest_verb("previw", verbs), "preview");
    EXPECT_EQ(datafix::cli::nearest_verb("preflite", verbs), "preflight");
    EXPECT_EQ(datafix::cli::nearest_verb("xyzzy", verbs), "");
}

TEST(Messages, MistypedVerbSuggestsTheNearest) {
    CommandRun run = run_datafix("aprove 3 dev");
    EXPECT_EQ(run.status, 2) << run.out;
    EXPECT_EQ(run.out,
              "datafix: unknown command 'datafix aprove'\n"
              "HINT: did you mean 'datafix approve'? (datafix approve --help)\n");
    run = run_datafix("users lsit");
    EXPECT_EQ(run.status, 2) << run.out;
    EXPECT_EQ(run.out,
              "datafix: unknown command 'datafix users lsit'\n"
              "HINT: did you mean 'datafix users list'? (datafix users list --help)\n");
    run = run_datafix("xyzzy");
    EXPECT_EQ(run.status, 2) << run.out;
    EXPECT_NE(run.out.find("datafix: unknown command 'datafix xyzzy'\nHINT: the commands are: "
                           "check, init, server"),
              std::string::npos)
        << run.out;
}

TEST(Messages, ScannerReadsCommandsNotProse) {
    EXPECT_EQ(commands_named("claim it first (datafix claim 3)"),
              std::vector<std::string>{"claim"});
    EXPECT_EQ(commands_named("see datafix users list"), std::vector<std::string>{"users list"});
    EXPECT_EQ(commands_named("remove it: datafix runs plain SQL statements"),
              std::vector<std::string>{});
    EXPECT_EQ(commands_named("leave first (datafix unpair)"), std::vector<std::string>{"unpair"});
    EXPECT_EQ(literals_of("f(\"a (datafix \"\n  \"approve-prod)\", 'x');"),
              std::vector<std::string>{"a (datafix approve-prod)"});
}

TEST(Messages, EveryCommandNamedInSourceExists) {
    int scanned = 0;
    const std::filesystem::path src = std::filesystem::path(DATAFIX_SOURCE_DIR) / "src";
    for (const auto& entry : std::filesystem::recursive_directory_iterator(src)) {
        const std::string ext = entry.path().extension().string();
        if (ext != ".cpp" && ext != ".hpp") {
            continue;
        }
        std::ifstream in(entry.path());
        std::stringstream code;
        code << in.rdbuf();
        for (const std::string& literal : literals_of(code.str())) {
            for (const std::string& verb : commands_named(literal)) {
                ++scanned;
                EXPECT_TRUE(is_verb(verb))
                    << entry.path().lexically_relative(src).string() << ": \"" << literal
                    << "\" names datafix " << verb << ", which is no command";
            }
        }
    }
    EXPECT_GT(scanned, 20);
}

// The workflow builds its HINTs' commands at run time: walk refusals and check each one.
TEST(Messages, EveryWorkflowHintNamesACommandThatExists) {
    using namespace datafix::workflow;
    using datafix::workflow::testing::Scenario;
    std::vector<Refusal> refusals;
    auto collect = [&](Scenario& s, const datafix::ledger::Person& who, const Action& action) {
        Decision d = decide(s.state, action, who, s.now, s.config);
        if (d.refusal) {
            refusals.push_back(*d.refusal);
        }
    };
    Scenario s;
    collect(s, s.driver, StartPreview{"dev"});
    s.claim_and_pair();
    collect(s, s.other_dev, ClaimRequest{});
    collect(s, s.other_dev, JoinPair{});
    collect(s, s.pair, ClaimRequest{});
    collect(s, s.driver, StartPreview{"dev"});
    s.ok(s.driver, Scenario::change());
    collect(s, s.driver, StartApply{"dev", "x"});
    collect(s, s.driver, StartPreview{"prod"});
    const std::string fp = s.preview("dev");
    collect(s, s.driver, StartApply{"dev", fp});
    collect(s, s.driver, ApproveEvidence{"dev", s.revision(), fp});
    collect(s, s.po, ApproveEvidence{"dev", s.revision(), fp});
    collect(s, s.other_dev, ApproveEvidence{"dev", s.revision(), fp});
    collect(s, s.other_dev, StartPreview{"dev"});
    Scenario done;
    done.run_to_done();
    collect(done, done.driver, StartRevert{"prod"});
    collect(done, done.driver, ClaimRequest{});
    collect(done, done.driver, CancelRequest{});

    int commands = 0;
    for (const Refusal& r : refusals) {
        for (const std::string& verb : commands_named(r.hint)) {
            ++commands;
            EXPECT_TRUE(is_verb(verb)) << r.rule << ": " << r.hint;
        }
        // Commands carry the request's number.
        if (r.hint.find("datafix ") != std::string::npos) {
            EXPECT_NE(r.hint.find(" 7"), std::string::npos) << r.rule << ": " << r.hint;
        }
    }
    EXPECT_GE(commands, 10);
}
