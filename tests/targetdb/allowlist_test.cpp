// The SQL guard's function allowlist (src/sql/allowed_functions.inc) checked against a real
// PostgreSQL 15 catalog: every name exists in pg_catalog (a misspelt name would refuse the
// function the reviewer meant to allow), and none but the sequence functions is marked parallel
// unsafe, which is how PostgreSQL labels functions that change state.
#include <gtest/gtest.h>

#include <sstream>

#include "harness/pg_cluster.hpp"
#include "sql/internal/function_policy.hpp"

namespace datafix::targetdb::test {
namespace {

testing::PgCluster& dev() {
    return testing::SampleClusters::get().dev();
}

std::string sql_array(const std::vector<std::string>& names) {
    std::string out = "ARRAY[";
    for (std::size_t i = 0; i < names.size(); ++i) {
        out += (i == 0 ? "'" : ",'") + names[i] + "'";
    }
    return out + "]::text[]";
}

TEST(Allowlist, EveryNameIsAPgCatalogFunction) {
    std::vector<std::string> names = sql::internal::allowed_function_names();
    ASSERT_EQ(names.size(), sql::internal::allowed_function_count());
    ASSERT_GT(names.size(), 200U);
    std::string missing =
        dev().psql("SELECT string_agg(n, ' ' ORDER BY n) FROM unnest(" + sql_array(names) +
                   ") n WHERE NOT EXISTS (SELECT 1 FROM pg_proc p WHERE p.proname = n "
                   "AND p.pronamespace = 'pg_catalog'::regnamespace)");
    while (!missing.empty() && missing.back() == '\n') {
        missing.pop_back();
    }
    EXPECT_EQ(missing, "") << "not functions of pg_catalog in PostgreSQL 15";
}

TEST(Allowlist, OnlySequenceFunctionsAreParallelUnsafe) {
    std::string unsafe = dev().psql(
        "SELECT string_agg(DISTINCT p.proname, ' ' ORDER BY p.proname) FROM pg_proc p "
        "WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.proparallel = 'u' "
        "AND p.proname = ANY (" +
        sql_array(sql::internal::allowed_function_names()) + ")");
    while (!unsafe.empty() && unsafe.back() == '\n') {
        unsafe.pop_back();
    }
    EXPECT_EQ(unsafe, "currval nextval");
}

}  // namespace
}  // namespace datafix::targetdb::test
