// The forwarded conninfo keeps the environment's parameters and only adds the loopback host.
#include "discover/conninfo.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace datafix::discover {
namespace {

// Parameters come out in libpq's own keyword order.
TEST(ForwardedConninfo, KeepsParametersAndAddsLoopbackHostAndPort) {
    EXPECT_EQ(forwarded_conninfo("dbname=ccbc user=datafix_login sslmode=disable", 40123),
              "user='datafix_login' dbname='ccbc' sslmode='disable' host=127.0.0.1 port=40123");
}

TEST(ForwardedConninfo, QuotesValuesAsLibpqReadsThem) {
    EXPECT_EQ(forwarded_conninfo("dbname=app password='it\\'s \\\\ secret'", 5),
              "password='it\\'s \\\\ secret' dbname='app' host=127.0.0.1 port=5");
}

TEST(ForwardedConninfo, AcceptsTheUriForm) {
    EXPECT_EQ(forwarded_conninfo("postgresql:///ccbc?user=datafix_login", 7),
              "user='datafix_login' dbname='ccbc' host=127.0.0.1 port=7");
}

TEST(ForwardedConninfo, RefusesAHostOrPortOfItsOwn) {
    for (const char* conninfo : {"host=db.example dbname=app", "hostaddr=10.0.0.1", "port=5433",
                                 "postgresql://db.example/app"}) {
        try {
            check_conninfo_without_host(conninfo, "environment[2].openshift");
            ADD_FAILURE() << "accepted " << conninfo;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::config) << conninfo;
            EXPECT_NE(e.message().find("environment[2].openshift"), std::string::npos);
        }
    }
}

TEST(ForwardedConninfo, RefusesWhatLibpqCannotParse) {
    try {
        check_conninfo_without_host("dbname='app", "environment[0].openshift");
        ADD_FAILURE() << "accepted an unterminated quote";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::config);
        EXPECT_NE(e.message().find("cannot be parsed"), std::string::npos);
    }
}

}  // namespace
}  // namespace datafix::discover
