// One throwaway PostgreSQL 15 cluster per ledger test process, shared by every PostgreSQL ledger
// test, and a fresh database on it per test.
#pragma once

#include <memory>
#include <string>

#include "harness/pg_cluster.hpp"

namespace datafix::ledger::testing {

inline datafix::testing::PgCluster& ledger_cluster() {
    static std::unique_ptr<datafix::testing::PgCluster> c =
        datafix::testing::PgCluster::create("ledger");
    return *c;
}

// A fresh database; the ledger URL in the keyword form ("postgresql:host=... dbname=...").
inline std::string fresh_ledger_url() {
    static int counter = 0;
    const std::string name = "ledger_" + std::to_string(++counter);
    ledger_cluster().psql("CREATE DATABASE " + name, "postgres");
    return "postgresql:" + ledger_cluster().conninfo(name);
}

// The database name inside a URL made by fresh_ledger_url(), for psql.
inline std::string database_of(const std::string& url) {
    const auto start = url.find("dbname=") + 7;
    return url.substr(start, url.find(' ', start) - start);
}

}  // namespace datafix::ledger::testing
