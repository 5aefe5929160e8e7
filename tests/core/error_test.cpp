// The error catalog: exit statuses are part of the CLI's contract with scripts.
#include <gtest/gtest.h>

#include "core/error.hpp"

namespace datafix {
namespace {

TEST(Error, ExitStatusesAreStable) {
    EXPECT_EQ(exit_status(ErrorCode::ok), 0);
    EXPECT_EQ(exit_status(ErrorCode::usage), 2);
    EXPECT_EQ(exit_status(ErrorCode::refused), 3);
    EXPECT_EQ(exit_status(ErrorCode::invalid_input), 4);
    EXPECT_EQ(exit_status(ErrorCode::target_refused), 6);
    EXPECT_EQ(exit_status(ErrorCode::in_doubt), 9);
    EXPECT_EQ(exit_status(ErrorCode::rule), 10);
    EXPECT_EQ(exit_status(ErrorCode::unauthenticated), 11);
}

TEST(Error, HttpStatusesFollowTheKindOfFailure) {
    EXPECT_EQ(http_status(ErrorCode::invalid_input), 400);
    EXPECT_EQ(http_status(ErrorCode::unauthenticated), 401);
    EXPECT_EQ(http_status(ErrorCode::forbidden), 403);
    EXPECT_EQ(http_status(ErrorCode::not_found), 404);
    EXPECT_EQ(http_status(ErrorCode::rule), 409);
}

TEST(Error, DescribeAddsTheHintLine) {
    Error e(ErrorCode::rule, "the pair cannot be the driver", "ask another developer to pair");
    EXPECT_EQ(e.describe(), "the pair cannot be the driver\nHINT: ask another developer to pair");
    EXPECT_EQ(Error(ErrorCode::internal, "x").describe(), "x");
    EXPECT_EQ(code_name(ErrorCode::count_mismatch), "count_mismatch");
}

}  // namespace
}  // namespace datafix
