// What an error from the database carries on: outside SQLSTATE class 42 the server's text can
// quote row values (a unique violation's key, a trigger's RAISE), so the connection keeps the
// SQLSTATE, its condition and the names of constraint, table and raising function only; class 42
// (about the statement itself) and fixed operational texts keep the server's message.
#include "target_support.hpp"
#include "targetdb/connection.hpp"

namespace datafix::targetdb::test {
namespace {

constexpr const char* kCanary = "CANARY-row-value-4711";

std::unique_ptr<Connection> superuser(const TestDatabase& db) {
    return Connection::open(db.cluster.conninfo(db.name), "dev");
}

TEST(DatabaseErrors, AUniqueViolationNamesItsConstraintButNotTheKey) {
    TestDatabase db(testing::SampleClusters::get().dev());
    auto c = superuser(db);
    c->query("CREATE TABLE public.named (name text CONSTRAINT named_name_key UNIQUE)");
    c->query("INSERT INTO public.named VALUES ($1)", {kCanary});
    auto message = expect_error(
        ErrorCode::database, [&] { c->query("INSERT INTO public.named VALUES ($1)", {kCanary}); });
    EXPECT_EQ(message.find(kCanary), std::string::npos) << message;
    EXPECT_NE(message.find("unique_violation of constraint \"named_name_key\" on table "
                           "public.named"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("(SQLSTATE 23505)"), std::string::npos) << message;
    EXPECT_NE(message.find("HINT: "), std::string::npos) << message;
}

TEST(DatabaseErrors, ATriggersRaiseNamesTheFunctionWhateverSqlstateItClaims) {
    TestDatabase db(testing::SampleClusters::get().dev());
    auto c = superuser(db);
    c->query("CREATE TABLE public.guarded (id int, secret text)");
    c->query("INSERT INTO public.guarded VALUES (1, $1)", {kCanary});
    // A class 42 SQLSTATE does not make the function's own text safe to show.
    c->query(
        "CREATE FUNCTION public.refuse() RETURNS trigger LANGUAGE plpgsql AS $fn$ "
        "BEGIN RAISE EXCEPTION 'refused %', OLD.secret USING ERRCODE = 'insufficient_privilege'; "
        "END $fn$");
    c->query(
        "CREATE TRIGGER refuse BEFORE UPDATE ON public.guarded FOR EACH ROW "
        "EXECUTE FUNCTION public.refuse()");
    auto message =
        expect_error(ErrorCode::database, [&] { c->query("UPDATE public.guarded SET id = 2"); });
    EXPECT_EQ(message.find(kCanary), std::string::npos) << message;
    EXPECT_NE(message.find("insufficient_privilege raised by PL/pgSQL function refuse()"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("(SQLSTATE 42501)"), std::string::npos) << message;
}

TEST(DatabaseErrors, AStatementsOwnMistakeKeepsTheServersMessage) {
    TestDatabase db(testing::SampleClusters::get().dev());
    auto c = superuser(db);
    auto message =
        expect_error(ErrorCode::database, [&] { c->query("SELECT * FROM public.no_such_table"); });
    EXPECT_NE(message.find("relation \"public.no_such_table\" does not exist"), std::string::npos)
        << message;
    EXPECT_NE(message.find("(SQLSTATE 42P01)"), std::string::npos) << message;
}

}  // namespace
}  // namespace datafix::targetdb::test
