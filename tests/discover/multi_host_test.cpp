// A direct conninfo target needs no discovery: libpq's multi-host conninfo with
// target_session_attrs=read-write lands on the primary, and after a switchover the same text
// lands on the new primary, whose system identifier is the pinned one (physical replicas share
// it). These tests prove that promise with real clusters and libpq alone.
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "harness/pg_cluster.hpp"

namespace datafix::discover {
namespace {

using datafix::testing::PgCluster;

struct Landing {
    int port = 0;
    bool in_recovery = true;
    std::string system_identifier;
};

Landing land(pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    const pqxx::row row = tx.exec1(
        "SELECT inet_server_port(), pg_is_in_recovery(), system_identifier::text "
        "FROM pg_control_system()");
    return {row[0].as<int>(), row[1].as<bool>(), row[2].as<std::string>()};
}

// The replica is listed first, so landing on the primary is libpq's doing, not the order's.
std::string multi_host(const PgCluster& first, const PgCluster& second) {
    return "host=127.0.0.1,127.0.0.1 port=" + std::to_string(first.port()) + "," +
           std::to_string(second.port()) +
           " dbname=app user=datafix_login password=datafix-test-password "
           "target_session_attrs=read-write connect_timeout=5";
}

TEST(MultiHostConninfo, LandsOnThePrimaryOfProd) {
    auto& clusters = datafix::testing::SampleClusters::get();
    pqxx::connection conn(multi_host(clusters.prod_replica(), clusters.prod()));
    const Landing at = land(conn);
    EXPECT_EQ(at.port, clusters.prod().port());
    EXPECT_FALSE(at.in_recovery);
    EXPECT_EQ(at.system_identifier, clusters.prod().system_identifier());
}

// A switchover between two steps of a request, on a pair of clusters of its own (the shared
// prod and replica stay as they are for every other test).
TEST(MultiHostConninfo, FollowsASwitchoverToTheNewPrimaryWithTheSamePin) {
    auto primary = PgCluster::create("switch-primary");
    datafix::testing::load_sample_schema(*primary);
    auto replica = primary->create_replica("switch-replica");
    const std::string conninfo = multi_host(*replica, *primary);
    const std::string pin = primary->system_identifier();

    // Step one of a request: lands on the primary; its connection is still open at the switch.
    pqxx::connection step_one(conninfo);
    const Landing first = land(step_one);
    EXPECT_EQ(first.port, primary->port());
    EXPECT_FALSE(first.in_recovery);
    EXPECT_EQ(first.system_identifier, pin);

    // The switchover: the old primary goes away, the replica is promoted.
    primary->stop();
    replica->promote();

    // The connection of the cut step is broken: the target layer resolves that run as in-doubt.
    EXPECT_THROW(land(step_one), pqxx::broken_connection);

    // Step two: the same conninfo, unchanged, lands on the new primary; the pin still holds and
    // it accepts writes.
    pqxx::connection step_two(conninfo);
    const Landing second = land(step_two);
    EXPECT_EQ(second.port, replica->port());
    EXPECT_FALSE(second.in_recovery);
    EXPECT_EQ(second.system_identifier, pin);
    pqxx::work tx(step_two);
    tx.exec0("SET ROLE app_owner");
    EXPECT_GT(tx.exec1("SELECT txid_current()")[0].as<long>(), 0);
    tx.commit();
}

}  // namespace
}  // namespace datafix::discover
