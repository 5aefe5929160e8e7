// Every code of the error catalog, walked from the catalog itself (0 to kLastErrorCode), so a code
// added later is checked too: each has a stable name of its own, its number as the exit status
// and an HTTP status of the right kind; nothing past kLastErrorCode has a name (a code appended
// without moving kLastErrorCode would be skipped by every loop over the catalog, the CLI's
// mapping from an answer's "error" back to its code among them).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "core/error.hpp"

namespace datafix {
namespace {

std::vector<ErrorCode> every_code() {
    std::vector<ErrorCode> codes;
    for (int i = 0; i <= static_cast<int>(kLastErrorCode); ++i) {
        codes.push_back(static_cast<ErrorCode>(i));
    }
    return codes;
}

TEST(ErrorCatalog, EveryCodeHasAUniqueLowercaseName) {
    std::set<std::string> names;
    for (ErrorCode code : every_code()) {
        const std::string name(code_name(code));
        SCOPED_TRACE(static_cast<int>(code));
        ASSERT_FALSE(name.empty());
        for (char c : name) {
            EXPECT_TRUE((c >= 'a' && c <= 'z') || c == '_') << name;
        }
        EXPECT_TRUE(names.insert(name).second) << "two codes are named " << name;
    }
    EXPECT_EQ(names.size(), every_code().size());
}

TEST(ErrorCatalog, NothingPastTheLastCodeHasANameOrAStatus) {
    // code_name and http_status fall back to internal's for a number that is no code.
    const auto past = static_cast<ErrorCode>(static_cast<int>(kLastErrorCode) + 1);
    EXPECT_EQ(code_name(past), code_name(ErrorCode::internal));
    EXPECT_EQ(http_status(past), http_status(ErrorCode::internal));
}

TEST(ErrorCatalog, EveryCodeIsItsOwnExitStatus) {
    std::set<int> statuses;
    for (ErrorCode code : every_code()) {
        EXPECT_EQ(exit_status(code), static_cast<int>(code)) << code_name(code);
        EXPECT_TRUE(statuses.insert(exit_status(code)).second);
        // A shell sees statuses 0..125 as the program's own.
        EXPECT_GE(exit_status(code), 0);
        EXPECT_LE(exit_status(code), 125);
    }
    EXPECT_EQ(exit_status(ErrorCode::ok), 0);
}

TEST(ErrorCatalog, EveryFailureHasAnHttpErrorStatus) {
    for (ErrorCode code : every_code()) {
        SCOPED_TRACE(std::string(code_name(code)));
        const int status = http_status(code);
        if (code == ErrorCode::ok) {
            EXPECT_EQ(status, 200);
        } else if (code == ErrorCode::in_doubt) {
            // Accepted, outcome not yet known: the client asks again; never a success.
            EXPECT_EQ(status, 202);
        } else {
            EXPECT_GE(status, 400);
            EXPECT_LE(status, 599);
        }
    }
    // What the client must tell apart: its own mistakes (4xx) and the server's (5xx).
    for (ErrorCode code : {ErrorCode::usage, ErrorCode::invalid_input, ErrorCode::unauthenticated,
                           ErrorCode::forbidden, ErrorCode::not_found, ErrorCode::rule,
                           ErrorCode::refused, ErrorCode::too_many}) {
        EXPECT_LT(http_status(code), 500) << code_name(code);
    }
    for (ErrorCode code :
         {ErrorCode::internal, ErrorCode::config, ErrorCode::unreachable, ErrorCode::busy}) {
        EXPECT_GE(http_status(code), 500) << code_name(code);
    }
}

}  // namespace
}  // namespace datafix
