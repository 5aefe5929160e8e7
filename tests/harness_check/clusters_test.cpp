// The harness itself: three separate clusters with the sample schema and a streaming replica of
// prod. Every later test relies on these facts, so they are checked once here.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "harness/pg_cluster.hpp"

namespace datafix::testing {
namespace {

TEST(SampleClusters, ThreeClustersHaveDistinctSystemIdentifiers) {
    auto& c = SampleClusters::get();
    std::set<std::string> ids = {c.dev().system_identifier(), c.test().system_identifier(),
                                 c.prod().system_identifier()};
    EXPECT_EQ(ids.size(), 3u);
}

TEST(SampleClusters, ReplicaIsInRecoveryAndSharesProdIdentifier) {
    auto& c = SampleClusters::get();
    EXPECT_EQ(c.prod_replica().psql("SELECT pg_is_in_recovery()"), "t\n");
    EXPECT_EQ(c.prod().psql("SELECT pg_is_in_recovery()"), "f\n");
    EXPECT_EQ(c.prod_replica().system_identifier(), c.prod().system_identifier());
}

TEST(SampleClusters, SampleSchemaIsLoadedWithFabricatedRows) {
    auto& c = SampleClusters::get();
    EXPECT_EQ(c.dev().psql("SELECT count(*) FROM app_public.application"), "1000\n");
    EXPECT_EQ(c.dev().psql("SELECT count(*) FROM app_public.application_status"), "1000\n");
    EXPECT_EQ(c.dev().psql("SELECT count(*) FROM app_public.app_user WHERE email_address NOT LIKE "
                           "'%@example.com'"),
              "0\n");
}

TEST(SampleClusters, ApplicationHasForcedRowLevelSecurity) {
    auto& c = SampleClusters::get();
    EXPECT_EQ(c.dev().psql("SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = "
                           "'app_public.application'::regclass"),
              "t|t\n");
}

TEST(SampleClusters, OwnerRoleIsNotSuperuserAndLoginCanBecomeIt) {
    auto& c = SampleClusters::get();
    EXPECT_EQ(c.dev().psql("SELECT rolsuper FROM pg_roles WHERE rolname = 'app_owner'"), "f\n");
    EXPECT_EQ(c.dev().psql("SET ROLE app_owner; SELECT current_user", "app", "datafix_login"),
              "app_owner\n");
}

TEST(SampleClusters, TriggersRecordWhoChangedARowAndAuditIt) {
    auto& c = SampleClusters::get();
    std::string conn = c.dev().create_database("harness_triggers");
    const std::string out = c.dev().psql(
        "SET ROLE app_owner;"
        "SELECT set_config('jwt.claims.sub', (SELECT sub::text FROM app_public.app_user WHERE id = "
        "7), false);"
        "UPDATE app_public.application SET form_data = form_data || '{\"households\": 3}' WHERE id "
        "= 42;"
        "SELECT updated_by FROM app_public.application WHERE id = 42;"
        "SELECT count(*) FROM app_public.record_version WHERE table_name = 'application' AND op = "
        "'UPDATE';",
        "harness_triggers", "datafix_login");
    EXPECT_NE(out.find("\n7\n1\n"), std::string::npos) << out;
}

TEST(SampleClusters, ArchivedRowsRefuseUpdates) {
    auto& c = SampleClusters::get();
    c.dev().create_database("harness_archived");
    c.dev().psql("UPDATE app_public.application SET archived_at = now() WHERE id = 5",
                 "harness_archived");
    EXPECT_THROW(c.dev().psql("UPDATE app_public.application SET owner = 1 WHERE id = 5",
                              "harness_archived"),
                 std::runtime_error);
}

TEST(PgCluster, DirectoryIsRemovedWhenTheClusterGoesAway) {
    std::string root;
    {
        auto c = PgCluster::create("scratch");
        root = c->socket_dir();
        EXPECT_TRUE(std::filesystem::exists(root));
        EXPECT_EQ(c->psql("SELECT 1", "postgres"), "1\n");
    }
    EXPECT_FALSE(std::filesystem::exists(root));
}

}  // namespace
}  // namespace datafix::testing
