// Commands people can copy from datafix's own messages: a mistyped verb is answered with the
// verb that was meant, every command a message in src/ or a workflow HINT names is one the
// command line registers, and every refusal in src/ (each workflow rule, walked through decide;
// each server ApiError, read from its source) gives a HINT whose commands the command line's own
// parser accepts, placeholders such as FILE filled in.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cli/app.hpp"
#include "workflow/accounts.hpp"
#include "workflow/config.hpp"
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

// ---- every refusal in src/ -------------------------------------------------------------------

std::string read_source(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream code;
    code << in.rdbuf();
    return code.str();
}

// Skips a comment, string or character literal starting at `i`; returns the index after it, or
// `i` when none starts there.
std::size_t skip_non_code(const std::string& code, std::size_t i) {
    if (code.compare(i, 2, "//") == 0) {
        const std::size_t end = code.find('\n', i);
        return end == std::string::npos ? code.size() : end;
    }
    if (code.compare(i, 2, "/*") == 0) {
        const std::size_t end = code.find("*/", i + 2);
        return end == std::string::npos ? code.size() : end + 2;
    }
    if (code.compare(i, 3, "R\"(") == 0) {
        const std::size_t end = code.find(")\"", i + 3);
        return end == std::string::npos ? code.size() : end + 2;
    }
    if (code[i] == '"' || code[i] == '\'') {
        const char quote = code[i];
        for (std::size_t j = i + 1; j < code.size(); ++j) {
            if (code[j] == '\\') {
                ++j;
            } else if (code[j] == quote) {
                return j + 1;
            }
        }
        return code.size();
    }
    return i;
}

// The top-level arguments of the call whose bracket opens at `open`, as source text.
std::vector<std::string> arguments_at(const std::string& code, std::size_t open) {
    std::vector<std::string> args(1);
    int depth = 0;
    for (std::size_t i = open; i < code.size(); ++i) {
        if (const std::size_t after = skip_non_code(code, i); after != i) {
            args.back() += code.substr(i, after - i);
            i = after - 1;
            continue;
        }
        const char c = code[i];
        if (c == '(' || c == '{' || c == '[') {
            if (depth++ == 0) {
                continue;
            }
        } else if (c == ')' || c == '}' || c == ']') {
            if (--depth == 0) {
                return args;
            }
        } else if (c == ',' && depth == 1) {
            args.emplace_back();
            continue;
        }
        args.back() += c;
    }
    return args;
}

std::string trimmed(const std::string& text) {
    const std::size_t first = text.find_first_not_of(" \t\n");
    const std::size_t last = text.find_last_not_of(" \t\n");
    return first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
}

// An expression made only of string literals (adjacent ones joined), or nothing.
std::optional<std::string> literal_text(const std::string& expression) {
    const std::string e = trimmed(expression);
    if (e.empty() || e[0] != '"') {
        return std::nullopt;
    }
    const std::vector<std::string> parts = literals_of(e);
    if (parts.size() != 1) {
        return std::nullopt;
    }
    return parts[0];
}

// Splits an expression at its top-level `+`.
std::vector<std::string> operands_of(const std::string& expression) {
    std::vector<std::string> out(1);
    int depth = 0;
    for (std::size_t i = 0; i < expression.size(); ++i) {
        if (const std::size_t after = skip_non_code(expression, i); after != i) {
            out.back() += expression.substr(i, after - i);
            i = after - 1;
            continue;
        }
        const char c = expression[i];
        depth += (c == '(' || c == '{' || c == '[')   ? 1
                 : (c == ')' || c == '}' || c == ']') ? -1
                                                      : 0;
        if (c == '+' && depth == 0) {
            out.emplace_back();
            continue;
        }
        out.back() += c;
    }
    return out;
}

// A value a HINT's run-time part takes, by what the code names it: the request number 7, run 3,
// environment dev. Empty when the part is not one of these (the text is then not known here).
std::string sample_value(const std::string& operand) {
    if (operand.find('?') != std::string::npos) {
        return {};
    }
    for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
             {"number", "7"}, {"run", "3"}, {"environment", "dev"}, {"env", "dev"}}) {
        if (operand.find(name) != std::string::npos) {
            return value;
        }
    }
    return {};
}

// A HINT expression as text: literals as written, run-time parts by their sample value. `known`
// says whether every part could be read.
struct HintText {
    std::string text;
    bool known = true;
};
HintText hint_text(const std::string& expression) {
    HintText hint;
    if (trimmed(expression).empty()) {
        return hint;
    }
    for (const std::string& operand : operands_of(expression)) {
        std::string o = trimmed(operand);
        if (o.starts_with("std::string(") && o.ends_with(")")) {
            o = o.substr(12, o.size() - 13);
        }
        if (auto literal = literal_text(o)) {
            hint.text += *literal;
            continue;
        }
        const std::string value = sample_value(o);
        hint.known = hint.known && !value.empty();
        hint.text += value.empty() ? "<" + o + ">" : value;
    }
    return hint;
}

// One refusal as the source writes it: `refusal("id", message, hint)`, `Refusal{"id", ...}`,
// `ApiError(code, "id", message, hint)` or `Error(code, message, hint, "id")`. An id built at run
// time keeps its literal part.
struct SourceRefusal {
    std::string where;  // file:line
    std::string layer;  // the folder under src/
    std::string id;
    bool id_is_literal = true;
    HintText hint;
};

std::vector<SourceRefusal> source_refusals() {
    std::vector<SourceRefusal> found;
    const std::filesystem::path src = std::filesystem::path(DATAFIX_SOURCE_DIR) / "src";
    for (const auto& entry : std::filesystem::recursive_directory_iterator(src)) {
        const std::string ext = entry.path().extension().string();
        if (ext != ".cpp" && ext != ".hpp") {
            continue;
        }
        const std::string code = read_source(entry.path());
        const std::string file = entry.path().lexically_relative(src).string();
        for (std::size_t i = 0; i < code.size(); ++i) {
            if (const std::size_t after = skip_non_code(code, i); after != i) {
                i = after - 1;
                continue;
            }
            const bool starts_word =
                i == 0 ||
                (std::isalnum(static_cast<unsigned char>(code[i - 1])) == 0 && code[i - 1] != '_');
            if (!starts_word) {
                continue;
            }
            std::size_t id_arg = 0;
            std::size_t hint_arg = 0;
            std::size_t open = std::string::npos;
            if (code.compare(i, 8, "refusal(") == 0) {
                open = i + 7;
                hint_arg = 2;
            } else if (code.compare(i, 8, "Refusal{") == 0) {
                open = i + 7;
                hint_arg = 2;
            } else if (code.compare(i, 9, "ApiError(") == 0) {
                open = i + 8;
                id_arg = 1;
                hint_arg = 3;
            } else if (code.compare(i, 6, "Error(") == 0) {
                open = i + 5;
                id_arg = 3;
                hint_arg = 2;
            } else {
                continue;
            }
            const std::vector<std::string> args = arguments_at(code, open);
            if (args.size() <= id_arg || args[id_arg].find('"') == std::string::npos) {
                continue;  // a declaration, or a refusal passed on (throw_refusal)
            }
            SourceRefusal r;
            r.where =
                file + ":" + std::to_string(1 + std::count(code.begin(), code.begin() + i, '\n'));
            r.layer = file.substr(0, file.find('/'));
            if (auto id = literal_text(args[id_arg])) {
                r.id = *id;
            } else {
                r.id_is_literal = false;
                for (const std::string& part : literals_of(args[id_arg])) {
                    r.id += part;
                }
            }
            r.hint = hint_text(args.size() > hint_arg ? args[hint_arg] : std::string());
            found.push_back(r);
        }
    }
    return found;
}

// The commands a HINT gives to copy, word by word: from "datafix" to the end of the phrase
// (a bracket, a comma, a semicolon, a backquote or a joining word such as "or").
std::vector<std::vector<std::string>> copyable_commands(const std::string& text) {
    static const std::regex mention(R"((?:^|\(|`|: |with |run |or |see )datafix ([a-z]))");
    static const std::vector<std::string> joining = {
        "or", "then", "and", "to", "for", "as", "shows", "if", "when", "before", "after"};
    std::vector<std::vector<std::string>> commands;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), mention);
         it != std::sregex_iterator(); ++it) {
        std::size_t start = static_cast<std::size_t>(it->position(1));
        std::size_t end = text.find_first_of("(),;`\n", start);
        std::string phrase =
            text.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (!phrase.empty() && phrase.back() == '.') {
            phrase.pop_back();
        }
        std::vector<std::string> words;
        std::istringstream in(phrase);
        for (std::string w; in >> w;) {
            if (std::find(joining.begin(), joining.end(), w) != joining.end()) {
                break;
            }
            words.push_back(w);
        }
        commands.push_back(words);
    }
    return commands;
}

// A placeholder people replace (FILE, ENVIRONMENT, N for a request or run, ROWS for expected
// counts, EMAIL, ROLE, TOKEN, TEXT) filled with a value the parser accepts; empty for a word in
// capitals this test does not know, which fails the test.
std::string placeholder_value(const std::string& word) {
    static const std::string file = [] {
        const std::string path =
            (std::filesystem::temp_directory_path() / "datafix-messages-test.sql").string();
        std::ofstream(path) << "UPDATE t SET a = 1 WHERE id = 1;\n";
        return path;
    }();
    if (word == "FILE") {
        return file;
    }
    if (word == "ENVIRONMENT" || word == "ENV") {
        return "dev";
    }
    if (word == "N" || word == "RUN" || word == "ROWS") {
        return "3";
    }
    if (word == "EMAIL") {
        return "someone@example.com";
    }
    if (word == "ROLE") {
        return "developer";
    }
    if (word == "TOKEN") {
        return "dfs_example";
    }
    if (word == "TEXT") {
        return "looks-right";
    }
    return {};
}

bool is_placeholder(const std::string& word) {
    return !word.empty() && std::all_of(word.begin(), word.end(),
                                        [](char c) { return (c >= 'A' && c <= 'Z') || c == '_'; });
}

// What the command line's parser says about a command a HINT gives: empty when it parses.
std::string parse_as_typed(std::vector<std::string> words) {
    for (std::string& w : words) {
        if (is_placeholder(w)) {
            const std::string value = placeholder_value(w);
            if (value.empty()) {
                return "unknown placeholder " + w;
            }
            w = value;
        }
    }
    return datafix::cli::parse_problem(words);
}

std::string joined(const std::vector<std::string>& words) {
    std::string out = "datafix";
    for (const std::string& w : words) {
        out += " " + w;
    }
    return out;
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
    auto collect = [&](Scenario& s, const datafix::model::Person& who, const Action& action) {
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

namespace {

using namespace datafix::workflow;
using datafix::workflow::testing::Scenario;

// Every workflow refusal, each provoked through decide() the way people meet it: by rule id,
// the refusal as decided (its HINT built at run time).
std::map<std::string, Refusal> walk_workflow_refusals() {
    std::map<std::string, Refusal> walked;
    auto keep = [&](const Refusal& r) { walked.emplace(r.rule, r); };
    auto at = [&](Scenario& s, const datafix::model::Person& who, const Action& action) {
        Decision d = decide(s.state, action, who, s.now, s.config);
        EXPECT_FALSE(d.allowed()) << action_name(action) << " was allowed";
        if (d.refusal) {
            keep(*d.refusal);
        }
    };

    // Filing, and managing people.
    Scenario s;
    datafix::model::Person gone = s.driver;
    gone.active = false;
    keep(*check_new_request(NewRequest{"", "", 0, "", ""}, s.po, nullptr));
    keep(*check_new_request(NewRequest{"fix", "why", 0, "15/12/2026", ""}, s.po, nullptr));
    keep(*check_new_request(NewRequest{"fix", "why", s.other_po.id, "", ""}, s.po, nullptr));
    keep(*check_new_request(NewRequest{"fix", "why", 0, "", ""}, s.driver, nullptr));
    keep(*check_new_request(NewRequest{"fix", "why", s.other_dev.id, "", ""}, s.driver,
                            &s.other_dev));
    keep(*check_manage_users(s.driver));
    keep(unknown_environment("prdo", {"dev", "test", "prod"}));

    // Claim and pair.
    at(s, gone, ClaimRequest{});
    at(s, s.po, ClaimRequest{});
    at(s, s.po, JoinPair{});
    at(s, s.driver, StartPreview{"dev"});
    at(s, s.driver, ReleaseClaim{});
    s.ok(s.driver, ClaimRequest{});
    at(s, s.driver, JoinPair{});
    at(s, s.pair, LeavePair{});
    at(s, s.driver, HandOver{s.po});
    at(s, s.driver, HandOver{s.driver});
    at(s, s.other_dev, ReleaseClaim{});
    s.ok(s.pair, JoinPair{});
    at(s, s.pair, JoinPair{});
    at(s, s.other_dev, JoinPair{});
    at(s, s.other_dev, ClaimRequest{});
    at(s, s.pair, ClaimRequest{});
    at(s, s.driver, HandOver{s.pair});
    at(s, s.pair, AddComment{"  "});
    at(s, s.pair, AddComment{std::string(9000, 'x')});
    at(s, s.other_dev, AddComment{"drive-by"});
    at(s, s.pair, RequestChanges{"nothing to review yet"});

    // A revision.
    at(s, s.driver, StartPreview{"dev"});
    at(s, s.driver, AttachRevision{});
    AttachRevision negative = Scenario::change();
    negative.statements[0].expected_rows = -1;
    at(s, s.driver, negative);
    s.ok(s.driver, Scenario::change());
    at(s, s.driver, Scenario::change());
    at(s, s.driver, RequestChanges{"my own change"});
    at(s, s.pair, RequestChanges{""});
    at(s, s.driver, StartApply{"dev", "none"});
    at(s, s.driver, StartPreview{"test"});
    at(s, s.driver, StartPreview{"prod"});
    at(s, s.po, ApproveProduction{s.revision()});
    at(s, s.pair, CancelRequest{});
    int preview = *s.ok(s.driver, StartPreview{"dev"}).run;
    at(s, s.driver, StartPreview{"dev"});
    at(s, s.driver, RecordInFlight{preview, 1, 2});
    at(s, s.driver, FinishRun{preview, RunOutcome::succeeded});
    at(s, s.pair, FinishRun{preview, RunOutcome::succeeded, {1}, "fp-1"});
    at(s, s.driver, FinishRun{99, RunOutcome::succeeded});
    s.ok(s.driver, FinishRun{preview, RunOutcome::succeeded, {1}, "fp-1"});
    at(s, s.driver, FinishRun{preview, RunOutcome::succeeded, {1}, "fp-1"});
    at(s, s.driver, StartApply{"dev", "fp-1"});
    at(s, s.driver, ApproveEvidence{"dev", s.revision(), "fp-1"});
    at(s, s.other_dev, ApproveEvidence{"dev", s.revision(), "fp-1"});
    at(s, s.pair, ApproveEvidence{"dev", s.revision().substr(0, 11), "fp-1"});
    at(s, s.pair, ApproveEvidence{"dev", std::string(64, 'a'), "fp-1"});
    const std::string second = s.preview("dev");
    at(s, s.pair, ApproveEvidence{"dev", s.revision(), "fp-1"});
    s.ok(s.pair, ApproveEvidence{"dev", s.revision(), second});
    at(s, s.po, ApproveProduction{s.revision()});
    at(s, s.pair, ApproveEmergencyRevert{"prod", s.revision()});
    int apply = *s.ok(s.driver, StartApply{"dev", second}).run;
    at(s, s.driver, ResolveInDoubt{apply, true});
    s.ok(s.driver, RecordInFlight{apply, 777, 4242});
    s.ok(s.driver, FinishRun{apply, RunOutcome::in_doubt});
    at(s, s.driver, StartPreview{"dev"});
    at(s, s.other_dev, ResolveInDoubt{apply, true});
    s.ok(s.driver, ResolveInDoubt{apply, true});
    at(s, s.driver, StartPreview{"dev"});
    s.advance(std::chrono::minutes(31));
    at(s, s.driver, HandOver{s.other_dev});
    s.ok(s.driver, ClaimRequest{});
    at(s, s.driver,
       Scenario::change("UPDATE app_public.intake SET name = 'Intake 3' WHERE id = 4"));
    AttachRevision again =
        Scenario::change("UPDATE app_public.intake SET name = 'Intake 3' WHERE id = 4");
    again.revert_first = true;
    s.ok(s.driver, again);
    at(s, s.driver, StartPreview{"dev"});
    at(s, s.driver, StartRevert{"dev"});
    at(s, s.pair, ApproveEmergencyRevert{"dev", s.revision()});

    // Changes requested by the product owner before prod; a revision with a shared hash prefix.
    Scenario c;
    c.claim_and_pair();
    c.ok(c.driver, Scenario::change());
    c.promote("dev");
    c.promote("test");
    at(c, c.po, ApproveProduction{c.revision().substr(0, 11)});
    at(c, c.other_po, ApproveProduction{c.revision()});
    c.ok(c.po, RequestChanges{"the status should be withdrawn"});
    at(c, c.po, ApproveProduction{c.revision()});
    at(c, c.driver, StartPreview{"prod"});
    Scenario independent;
    independent.claim_and_pair();
    independent.ok(independent.driver, Scenario::change());
    independent.promote("dev");
    independent.promote("test");
    independent.state.request.requested_by = independent.driver.id;
    at(independent, independent.driver, ApproveProduction{independent.revision()});
    Scenario prefix;
    prefix.claim_and_pair();
    prefix.ok(prefix.driver, Scenario::change());
    prefix.ok(prefix.driver,
              Scenario::change("UPDATE app_public.intake SET name = 'x' WHERE id = 4"));
    prefix.state.revisions[0].hash = std::string(13, 'a') + std::string(51, '1');
    prefix.state.revisions[1].hash = std::string(13, 'a') + std::string(51, '2');
    const std::string fp = prefix.preview("dev");
    at(prefix, prefix.pair, ApproveEvidence{"dev", std::string(13, 'a'), fp});

    // A backup before prod; no environment that needs the product owner.
    Scenario backup;
    backup.config.environments.back().needs_backup = true;
    backup.claim_and_pair();
    backup.ok(backup.driver, Scenario::change());
    backup.promote("dev");
    backup.promote("test");
    backup.ok(backup.po, ApproveProduction{backup.revision()});
    const std::string prod = backup.preview("prod");
    backup.ok(backup.pair, ApproveEvidence{"prod", backup.revision(), prod});
    at(backup, backup.driver, StartApply{"prod", prod});
    Scenario ungated;
    for (auto& env : ungated.config.environments) {
        env.needs_product_owner_approval = false;
    }
    ungated.claim_and_pair();
    ungated.ok(ungated.driver, Scenario::change());
    at(ungated, ungated.po, ApproveProduction{ungated.revision()});

    // Four eyes across tokens and history.
    Scenario issuer;
    datafix::model::Person rotated_driver = issuer.driver;
    rotated_driver.token_issued_by = issuer.admin.id;
    datafix::model::Person rotated_pair = issuer.pair;
    rotated_pair.token_issued_by = issuer.admin.id;
    issuer.ok(rotated_driver, ClaimRequest{});
    issuer.ok(rotated_pair, JoinPair{});
    issuer.ok(rotated_driver, Scenario::change());
    int issued = *issuer.ok(rotated_driver, StartPreview{"dev"}).run;
    issuer.ok(rotated_driver, FinishRun{issued, RunOutcome::succeeded, {1}, "fp-dev"});
    at(issuer, rotated_pair, ApproveEvidence{"dev", issuer.revision(), "fp-dev"});

    // Done, then after it.
    Scenario done;
    done.run_to_done();
    at(done, done.driver, StartRevert{"prod"});
    at(done, done.pair, ApproveEmergencyRevert{"test", done.revision()});
    at(done, done.pair, ApproveEmergencyRevert{"prod", std::string(64, 'c')});
    at(done, done.po, CancelRequest{});
    at(done, done.po, RequestChanges{"too late"});
    at(done, done.other_dev, ClaimRequest{});
    done.ok(done.pair, ApproveEmergencyRevert{"prod", done.revision()});
    at(done, done.pair, ApproveEmergencyRevert{"prod", done.revision()});
    int revert = *done.ok(done.driver, StartRevert{"prod"}).run;
    done.ok(done.driver, FinishRun{revert, RunOutcome::succeeded, {1}});
    at(done, done.driver, StartRevert{"prod"});
    Scenario former;
    former.run_to_done();
    former.ok(former.pair, LeavePair{});
    former.ok(former.driver, ReleaseClaim{});
    former.ok(former.driver, JoinPair{});
    at(former, former.driver, ApproveEmergencyRevert{"prod", former.revision()});
    Scenario cancelled;
    cancelled.claim_and_pair();
    cancelled.ok(cancelled.po, CancelRequest{"no longer needed"});
    at(cancelled, cancelled.driver, StartPreview{"dev"});

    // Accounts an admin made ([auth] confirm_accounts), and who may confirm one.
    Scenario made;
    made.config.confirm_accounts = true;
    datafix::model::Person made_driver = made.driver;
    made_driver.created_by = made.admin.id;
    datafix::model::Person made_pair = made.pair;
    made_pair.created_by = made.admin.id;
    made.ok(made_driver, ClaimRequest{});
    made.ok(made_pair, JoinPair{});
    made.ok(made_driver, Scenario::change());
    int made_run = *made.ok(made_driver, StartPreview{"dev"}).run;
    made.ok(made_driver, FinishRun{made_run, RunOutcome::succeeded, {1}, "fp-dev"});
    at(made, made_pair, ApproveEvidence{"dev", made.revision(), "fp-dev"});
    auto confirming = [&](const datafix::model::Person& admin,
                          const datafix::model::Person& account, bool on) {
        WorkflowConfig config = made.config;
        config.confirm_accounts = on;
        if (auto r = check_account_confirmation(admin, account, made.admin, config)) {
            keep(*r);
        }
    };
    datafix::model::Person other_admin = made.admin;
    other_admin.id = 9;
    datafix::model::Person confirmed = made_pair;
    confirmed.confirmed_by = other_admin.id;
    confirming(other_admin, made_pair, false);
    confirming(other_admin, made.po, true);
    confirming(other_admin, confirmed, true);
    confirming(made_pair, made_pair, true);
    confirming(made.admin, made_pair, true);

    // Live mode.
    Scenario live;
    live.claim_and_pair();
    live.ok(live.driver, Scenario::change());
    at(live, live.driver, StartLive{"dev"});
    for (auto& env : live.config.environments) {
        env.live = true;
        env.live_window = std::chrono::minutes(2);
    }
    at(live, live.pair, ApproveLive{"dev", live.revision(), "fp-live"});
    int open = *live.ok(live.driver, StartLive{"dev"}).run;
    at(live, live.pair, ApproveLive{"dev", live.revision(), "fp-live"});
    at(live, live.pair, RecordLiveEvidence{open, "fp-live", {1}, "/data/run.evidence", "[]"});
    at(live, live.driver, RecordLiveEvidence{open, "", {1}, "", "[]"});
    at(live, live.driver, RecordLiveEvidence{999, "fp-live", {1}, "", "[]"});
    live.ok(live.driver, RecordLiveEvidence{open, "fp-live", {1}, "/data/run.evidence", "[]"});
    at(live, live.driver, RecordInFlight{open, 100, 200});
    at(live, live.other_dev, EndLive{open, LiveEnd::cancelled});
    Scenario late = live;
    late.now += std::chrono::minutes(3);
    at(late, late.pair, ApproveLive{"dev", late.revision(), "fp-live"});
    live.ok(live.pair, ApproveLive{"dev", live.revision(), "fp-live"});
    at(live, live.driver, EndLive{open, LiveEnd::cancelled});
    Scenario ended = late;
    ended.ok(ended.driver, EndLive{open, LiveEnd::window_ended});
    at(ended, ended.driver, EndLive{open, LiveEnd::cancelled});
    return walked;
}

}  // namespace

// Every refusal id in src/ is met: workflow rules through decide() (the HINT as built at run
// time), every other refusal (the server's ApiErrors) from its source, whose HINT is then read
// with its run-time parts filled in (request 7, run 3, environment dev).
TEST(Messages, EveryRefusalIdInSourceIsWalked) {
    const std::map<std::string, Refusal> walked = walk_workflow_refusals();
    const std::vector<SourceRefusal> sites = source_refusals();
    std::set<std::string> ids;
    int workflow_sites = 0;
    int server_sites = 0;
    for (const SourceRefusal& site : sites) {
        ids.insert(site.id);
        // Outside decide() (the engine's unknown request): read from source like the server's.
        const bool outside_decide = site.where.starts_with("workflow/engine.cpp");
        if (site.layer == "workflow" && !outside_decide) {
            ++workflow_sites;
            if (site.id_is_literal) {
                EXPECT_TRUE(walked.count(site.id) == 1)
                    << site.where << ": refusal " << site.id << " is not walked";
            } else {
                // "comment" + "-empty": some walked rule ends with the literal part.
                bool met = false;
                for (const auto& [rule, refusal] : walked) {
                    met = met || rule.ends_with(site.id);
                }
                EXPECT_TRUE(met) << site.where << ": no walked refusal ends with " << site.id;
            }
            continue;
        }
        ++server_sites;
        EXPECT_TRUE(site.id_is_literal) << site.where << ": " << site.id;
        // Read from source: a HINT with a part this test cannot fill in may not give a command.
        if (!site.hint.known) {
            EXPECT_EQ(site.hint.text.find("datafix "), std::string::npos)
                << site.where << ": " << site.id << "'s HINT gives a command with a part not read "
                << "here: " << site.hint.text;
        }
    }
    // The walk meets nothing the source does not have.
    for (const auto& [rule, refusal] : walked) {
        bool in_source = ids.count(rule) == 1;
        for (const SourceRefusal& site : sites) {
            in_source = in_source || (!site.id_is_literal && rule.ends_with(site.id));
        }
        EXPECT_TRUE(in_source) << rule;
    }
    EXPECT_GT(workflow_sites, 60);
    EXPECT_GT(server_sites, 40);
    EXPECT_GE(walked.size(), 70u);
}

// A command a HINT gives is one people can paste: the command line's own parser (verbs,
// arguments, required options, their checks) accepts it once placeholders are filled in.
TEST(Messages, EveryHintsCommandParsesWithTheCommandLine) {
    int parsed = 0;
    auto check = [&](const std::string& where, const std::string& hint) {
        for (const std::vector<std::string>& words : copyable_commands(hint)) {
            ++parsed;
            const std::string problem = parse_as_typed(words);
            EXPECT_EQ(problem, "") << where << ": HINT: " << hint << "\n  " << joined(words);
        }
    };
    const std::map<std::string, Refusal> walked = walk_workflow_refusals();
    for (const auto& [rule, refusal] : walked) {
        check("workflow rule " + rule, refusal.hint);
    }
    const int from_decide = parsed;
    int read = 0;
    for (const SourceRefusal& site : source_refusals()) {
        const bool from_source =
            site.layer != "workflow" || site.where.starts_with("workflow/engine.cpp");
        if (from_source && site.hint.known) {
            ++read;
            check(site.where + " (" + site.id + ")", site.hint.text);
        }
    }
    std::cout << walked.size() << " workflow refusals walked (" << from_decide
              << " commands in their HINTs), " << read << " other refusals read from source ("
              << parsed - from_decide << " commands)\n";
    EXPECT_GT(from_decide, 25);
    EXPECT_GT(parsed - from_decide, 10);
}

TEST(Messages, TheParserRefusesWhatCannotBePasted) {
    EXPECT_EQ(parse_as_typed({"claim", "7"}), "");
    EXPECT_EQ(parse_as_typed({"change", "7", "--change", "FILE", "--expect", "1"}), "");
    EXPECT_NE(parse_as_typed({"change", "7", "--change", "FILE"}), "");  // --expect is required
    EXPECT_NE(parse_as_typed({"change", "7", "--change", "/no/such/file.sql", "--expect", "1"}),
              "");
    EXPECT_NE(parse_as_typed({"users", "rotate-token"}), "");
    EXPECT_NE(parse_as_typed({"hand-over", "7"}), "");
    EXPECT_NE(parse_as_typed({"approve", "7", "WHERE"}), "");
    EXPECT_EQ(copyable_commands("the pair approves (datafix approve 7 dev, as the pair)"),
              (std::vector<std::vector<std::string>>{{"approve", "7", "dev"}}));
    EXPECT_EQ(copyable_commands("name them by email (datafix users list shows everyone)"),
              (std::vector<std::vector<std::string>>{{"users", "list"}}));
    EXPECT_EQ(hint_text(R"x("claim it (datafix claim " + std::to_string(number) + ")")x").text,
              "claim it (datafix claim 7)");
    EXPECT_FALSE(hint_text("hint").known);
}
