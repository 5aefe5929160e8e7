// Guards on opening a session: leader, pin, role; and what a good session looks like.
#include <nlohmann/json.hpp>

#include "target_support.hpp"
#include "targetdb/connection.hpp"
#include "targetdb/evidence_json.hpp"
#include "targetdb/guards.hpp"

namespace datafix::targetdb::test {
namespace {

testing::SampleClusters& clusters() {
    return testing::SampleClusters::get();
}

TEST(Guards, OpensOnTheLeaderAsTheConfiguredRole) {
    TestDatabase db(clusters().dev());
    auto session = Session::open(db.target());
    const auto& f = session.facts();
    EXPECT_EQ(f.role, "app_owner");
    EXPECT_EQ(f.login, "datafix_login");
    EXPECT_FALSE(f.login_is_superuser);
    EXPECT_EQ(f.system_identifier, clusters().dev().system_identifier());
    EXPECT_GT(f.backend_pid, 0);
    // The settings are in force for the session datafix opened.
    auto seen = db.psql(
        "SELECT backend_type FROM pg_stat_activity WHERE application_name = 'datafix target "
        "test'");
    EXPECT_EQ(seen, "client backend");
}

TEST(Guards, TheCaptureSortsInMemoryUnlessTheEnvironmentSaysOtherwise) {
    TestDatabase db(clusters().dev());
    auto target = db.target();
    auto connection = Connection::open(target.conninfo, "dev");
    run_guards(*connection, target);
    EXPECT_EQ(connection->query("SHOW work_mem").scalar(), "64MB");
    target.work_mem = "8MB";
    auto configured = Connection::open(target.conninfo, "dev");
    run_guards(*configured, target);
    EXPECT_EQ(configured->query("SHOW work_mem").scalar(), "8MB") << "the environment's own";
}

TEST(Guards, RefusesTheReplica) {
    auto& prod = clusters().prod();
    EnvironmentTarget t;
    t.name = "prod";
    t.conninfo = clusters().prod_replica().conninfo("app", "datafix_login") +
                 " password=datafix-test-password";
    t.role = "app_owner";
    t.pinned_system_identifier = prod.system_identifier();
    auto message = expect_error(ErrorCode::target_refused, [&] { Session::open(t); });
    EXPECT_NE(message.find("prod: the server is a replica"), std::string::npos) << message;
    EXPECT_NE(message.find("HINT: "), std::string::npos);
}

TEST(Guards, MultiHostConninfoFindsTheLeader) {
    // The replica is listed first; libpq skips it because of target_session_attrs.
    auto& prod = clusters().prod();
    auto& replica = clusters().prod_replica();
    EnvironmentTarget t;
    t.name = "prod";
    t.conninfo = "host=" + replica.socket_dir() + "," + prod.socket_dir() +
                 " port=" + std::to_string(replica.port()) + "," + std::to_string(prod.port()) +
                 " dbname=app user=datafix_login password=datafix-test-password"
                 " target_session_attrs=read-write";
    t.role = "app_owner";
    t.pinned_system_identifier = prod.system_identifier();
    auto session = Session::open(t);
    EXPECT_EQ(session.facts().system_identifier, prod.system_identifier());
}

TEST(Guards, RefusesTheWrongCluster) {
    TestDatabase db(clusters().test());
    auto t = db.target("prod");
    t.pinned_system_identifier = clusters().prod().system_identifier();
    auto message = expect_error(ErrorCode::target_refused, [&] { Session::open(t); });
    EXPECT_NE(
        message.find("prod: wrong cluster: its system identifier is " +
                     clusters().test().system_identifier() + ", the environment is pinned to " +
                     clusters().prod().system_identifier()),
        std::string::npos)
        << message;
}

TEST(Guards, RefusesAMissingPin) {
    TestDatabase db(clusters().dev());
    auto t = db.target();
    t.pinned_system_identifier.clear();
    auto message = expect_error(ErrorCode::config, [&] { Session::open(t); });
    EXPECT_NE(message.find("no system identifier is pinned"), std::string::npos) << message;
}

TEST(Guards, RefusesASuperuserRole) {
    TestDatabase db(clusters().dev());
    auto t = db.target();
    t.conninfo = clusters().dev().conninfo(db.name);  // the superuser login
    t.role = "dfsuper";
    auto message = expect_error(ErrorCode::target_refused, [&] { Session::open(t); });
    EXPECT_NE(message.find("role dfsuper is a superuser"), std::string::npos) << message;
}

TEST(Guards, RefusesASuperuserLoginUnlessTheEnvironmentAllowsIt) {
    TestDatabase db(clusters().dev());
    auto t = db.target();
    t.conninfo = clusters().dev().conninfo(db.name);  // dfsuper, a superuser, SET ROLE app_owner
    auto message = expect_error(ErrorCode::target_refused, [&] { Session::open(t); });
    EXPECT_NE(message.find("login dfsuper is a superuser"), std::string::npos) << message;
    EXPECT_NE(message.find("allow_superuser_login = true"), std::string::npos) << message;

    t.allow_superuser_login = true;
    auto session = Session::open(t);
    EXPECT_TRUE(session.facts().login_is_superuser);
    EXPECT_EQ(session.facts().role, "app_owner");
    TempImages images;
    auto evidence = session.preview(
        plan_for("UPDATE app_public.application SET form_data = '{}' WHERE id = 4", {1}),
        images.store);
    EXPECT_TRUE(evidence.superuser_login) << "the pair sees how the run logged in";
    EXPECT_TRUE(evidence_from_json(to_json(evidence)).superuser_login);
}

TEST(Guards, RefusesARoleThatDoesNotExistOrCannotBeBecome) {
    TestDatabase db(clusters().dev());
    auto t = db.target();
    t.role = "no_such_role";
    auto missing = expect_error(ErrorCode::target_refused, [&] { Session::open(t); });
    EXPECT_NE(missing.find("role no_such_role does not exist"), std::string::npos) << missing;
    t.role = "app_web";
    auto foreign = expect_error(ErrorCode::target_refused, [&] { Session::open(t); });
    EXPECT_NE(foreign.find("login datafix_login cannot become role app_web"), std::string::npos)
        << foreign;
}

TEST(Guards, ReportsAnUnreachableServer) {
    EnvironmentTarget t;
    t.name = "dev";
    t.conninfo =
        "host=/nonexistent-datafix-socket-dir port=1 dbname=app user=datafix_login "
        "password=datafix-test-password connect_timeout=2";
    t.role = "app_owner";
    t.pinned_system_identifier = "1";
    auto message = expect_error(ErrorCode::unreachable, [&] { Session::open(t); });
    EXPECT_NE(message.find("cannot connect to dev"), std::string::npos) << message;
    EXPECT_EQ(message.find("datafix-test-password"), std::string::npos) << message;
}

}  // namespace
}  // namespace datafix::targetdb::test

namespace datafix::targetdb::test {
namespace {

TEST(PlanBuilder, NothingTheGuardRefusesBecomesAPlan) {
    // No database involved: the refusal happens before a session is even needed.
    auto no_where = expect_error(ErrorCode::refused, [] {
        plan_for("UPDATE app_public.application SET form_data = '{}'", {1});
    });
    EXPECT_NE(no_where.find("change.sql: statement 1"), std::string::npos) << no_where;
    auto ddl = expect_error(ErrorCode::refused,
                            [] { plan_for("DROP TABLE app_public.application", {0}); });
    EXPECT_NE(ddl.find("statement 1"), std::string::npos) << ddl;
    auto writing_verify = expect_error(ErrorCode::refused, [] {
        plan_for("DELETE FROM app_public.application_status WHERE id = 1", {1},
                 "DELETE FROM app_public.application_status WHERE id = 2");
    });
    EXPECT_NE(writing_verify.find("verify.sql: statement 1"), std::string::npos) << writing_verify;
}

}  // namespace
}  // namespace datafix::targetdb::test
